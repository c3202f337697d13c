import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { type ComposeOption, init, use } from 'echarts/core';
import type { BarSeriesOption, LineSeriesOption } from 'echarts/charts';
import type { GridComponentOption, LegendComponentOption, TooltipComponentOption } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'react';

// Only the parts the back office draws: the bundle stays small (tree-shaken echarts/core).
use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export type ChartOption = ComposeOption<BarSeriesOption | LineSeriesOption | GridComponentOption | LegendComponentOption | TooltipComponentOption>;

/**
 * A thin React wrapper over ECharts. The canvas renderer and `richText` tooltips keep it inside
 * the CSP (style-src 'self'): ECharts then writes styles only through the CSSOM
 * (element.style), never as style attributes or inline <style>, which the CSP would refuse.
 * Pass `renderMode: 'richText'` in the tooltip (the default is set here). The figure is for the
 * eye; its exact values belong in a table or in the tooltip, formatted from the minor-unit strings.
 */
export function Chart({ option, label, className = 'chart' }: { option: ChartOption; label: string; className?: string }) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<ReturnType<typeof init> | null>(null);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const c = init(el, undefined, { renderer: 'canvas' });
    chart.current = c;
    const resize = new ResizeObserver(() => c.resize());
    resize.observe(el);
    return () => {
      resize.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const tooltip = option.tooltip && !Array.isArray(option.tooltip) ? { renderMode: 'richText' as const, ...option.tooltip } : option.tooltip;
    chart.current?.setOption(
      { animationDuration: 300, textStyle: { fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans SC", sans-serif' }, ...option, tooltip },
      { notMerge: true },
    );
  }, [option]);

  return <div ref={host} className={className} role="img" aria-label={label} />;
}

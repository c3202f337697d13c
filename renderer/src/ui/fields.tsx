import { useEffect, useState } from 'react';

/**
 * The filter and form fields the screens share: a labelled select (with an optional "any" first
 * choice, which stands for no filter) and the live/sandbox environment choice. One definition, so
 * every filter bar reads, behaves and is named (for tests and assistive tech) the same way.
 */
export interface Choice {
  value: string;
  label: string;
}

export function SelectField({
  name,
  label,
  value,
  onChange,
  choices,
  any,
  disabled,
}: {
  name: string;
  label: string;
  value: string | undefined;
  /** The chosen value; `undefined` when the "any" choice was taken. */
  onChange: (value: string | undefined) => void;
  choices: readonly Choice[];
  /** The label of a first, empty choice meaning "no filter" (omitted: a value is always chosen). */
  any?: string;
  disabled?: boolean;
}) {
  return (
    <label className="field">
      <span>{label}</span>
      <select name={name} value={value ?? ''} onChange={(e) => onChange(e.target.value || undefined)} disabled={disabled}>
        {any !== undefined && <option value="">{any}</option>}
        {choices.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
    </label>
  );
}

export type Environment = 'live' | 'sandbox';
const ENVIRONMENTS: readonly Choice[] = [
  { value: 'live', label: 'live' },
  { value: 'sandbox', label: 'sandbox' },
];

/** live / sandbox (the API's own words, untranslated, as merchants see them in their keys). */
export function EnvironmentField(props: { name: string; label: string; value: Environment | undefined; onChange: (value: Environment | undefined) => void; any?: string }) {
  return <SelectField {...props} onChange={(v) => props.onChange(v as Environment | undefined)} choices={ENVIRONMENTS} />;
}

/** A value typed into a filter box, passed on once typing pauses (each keystroke is not a query). */
export function useSettled<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/**
 * WeChat Pay speaks RFC 3339 in Beijing time (`2018-06-08T10:34:56+08:00`); the rest of
 * BuffMoney speaks ISO-8601 UTC. These convert at the channel's edge.
 */
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

/** A UTC instant as `YYYY-MM-DDTHH:mm:ss+08:00` (whole seconds: WeChat Pay rejects fractions). */
export function toBeijingRfc3339(instant: Date): string {
  if (Number.isNaN(instant.getTime())) throw new RangeError('Invalid date');
  return `${new Date(instant.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;
}

/** An RFC 3339 time with any offset → ISO-8601 UTC; undefined when it is not one. */
export function rfc3339ToIsoUtc(value: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const instant = new Date(value);
  return Number.isNaN(instant.getTime()) ? undefined : instant.toISOString();
}

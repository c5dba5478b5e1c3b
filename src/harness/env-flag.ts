/** True when environment variable `name` is set to anything but empty, `0` or `false`. */
export function envFlag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

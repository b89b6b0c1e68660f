// Which seeds a scenario is run on: its listed seeds, then `extra` more — whole numbers counting
// up from `first`, skipping any already listed. The same arguments always give the same seeds.

export function seedList(listed: readonly string[], extra: number, first = 1): string[] {
  const seeds = [...listed];
  const taken = new Set(listed);
  for (let n = first; seeds.length < listed.length + extra; n++) {
    if (!taken.has(String(n))) seeds.push(String(n));
  }
  return seeds;
}

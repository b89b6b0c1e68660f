// Events grouped by a key (connection, peer), in trace order, packed into one array (CSR): the
// events of group g are `events[offsets[g] .. offsets[g + 1])`.

export interface EventLists {
  offsets: Int32Array;
  events: Int32Array;
}

/** Groups event indices by `keyOf[i]` (events with a negative key are left out). */
export function groupEvents(keyOf: Int32Array, groups: number): EventLists {
  const offsets = new Int32Array(groups + 1);
  for (let i = 0; i < keyOf.length; i++) if (keyOf[i] >= 0) offsets[keyOf[i] + 1]++;
  for (let g = 0; g < groups; g++) offsets[g + 1] += offsets[g];
  const events = new Int32Array(offsets[groups]);
  const fill = offsets.slice(0, groups);
  for (let i = 0; i < keyOf.length; i++) if (keyOf[i] >= 0) events[fill[keyOf[i]]++] = i;
  return { offsets, events };
}

/** The events of one group (a view, not a copy). */
export function eventsOf(lists: EventLists, group: number): Int32Array {
  return lists.events.subarray(lists.offsets[group], lists.offsets[group + 1]);
}

/** How many entries of the sorted `list` are below `value`. */
export function countBelow(list: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many entries of the sorted `list` are at or below `value`. */
export function countAtOrBelow(list: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// A value that faults change for a while, as layers: each fault adds one under its own id and
// removes only that one when it heals, so faults that overlap in any order never undo each other.
// The layer added last among those still active wins; with none, the base value holds.

export class Layers<T> {
  private readonly layers: { id: number; value: T }[] = [];

  add(id: number, value: T): void {
    this.layers.push({ id, value });
  }

  /** Removes the layers of fault `id`; true if there were any. */
  remove(id: number): boolean {
    const before = this.layers.length;
    for (let i = this.layers.length - 1; i >= 0; i--) if (this.layers[i].id === id) this.layers.splice(i, 1);
    return this.layers.length !== before;
  }

  /** The latest active layer's value, or `base`. */
  over(base: T): T {
    return this.layers.length === 0 ? base : this.layers[this.layers.length - 1].value;
  }
}

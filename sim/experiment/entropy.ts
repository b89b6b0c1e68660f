// Piece diversity (Legout et al., 2006): how evenly the copies of the pieces are spread. The
// Shannon entropy of the share of copies each piece has, divided by log(pieces): 1 when every piece
// has as many copies as every other, 0 when all copies are of one piece.

/** Normalised entropy of `copies` (copies per piece); 1 for fewer than two pieces or no copies. */
export function availabilityEntropy(copies: readonly number[]): number {
  const total = copies.reduce((a, b) => a + b, 0);
  if (copies.length < 2 || total === 0) return 1;
  let h = 0;
  for (const c of copies) if (c > 0) h -= (c / total) * Math.log(c / total);
  return h / Math.log(copies.length);
}

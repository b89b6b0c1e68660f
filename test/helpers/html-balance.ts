// A small check that an HTML text parses as a tree: every element that is not void is closed, in
// order, and nothing is closed that was not open. Enough for a report written by our own code.

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);

/** The first problem in `html`'s tag structure, or undefined when it is a well-formed tree. */
export function htmlTreeProblem(html: string): string | undefined {
  const open: string[] = [];
  const body = html.replace(/<!doctype[^>]*>/i, '').replace(/<style>[\s\S]*?<\/style>/g, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w-]*)\b[^>]*?(\/?)>/g)) {
    const [, closing, rawName, selfClosing] = m;
    const name = rawName.toLowerCase();
    if (closing) {
      const top = open.pop();
      if (top !== name) return `</${name}> at ${m.index} closes <${top ?? 'nothing'}>`;
    } else if (!selfClosing && !VOID.has(name)) open.push(name);
  }
  return open.length ? `unclosed: ${open.join(' > ')}` : undefined;
}

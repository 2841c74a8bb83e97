// Side-by-side text columns for `shortened generate --model A --model B ...`: each model's text wrapped to the
// column width (at word boundaries where it can), its title above and its timing below.

export interface Column {
  title: string;
  text: string;
  footer: string;
}

/** Lines of at most `width` characters: paragraphs kept, words moved to the next line, long words cut. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(/(\s+)/)) {
      if (word === "") continue;
      if ((line + word).length <= width) {
        line += word;
        continue;
      }
      if (line.trim() !== "") out.push(line.trimEnd());
      line = /^\s+$/.test(word) ? "" : word;
      while (line.length > width) {
        out.push(line.slice(0, width));
        line = line.slice(width);
      }
    }
    out.push(line.trimEnd());
  }
  return out;
}

/** The columns joined line by line with " | " between them. */
export function sideBySide(columns: Column[], width: number): string {
  const blocks = columns.map((c) => [
    ...wrap(c.title, width),
    "-".repeat(width),
    ...wrap(c.text, width),
    "",
    ...wrap(c.footer, width),
  ]);
  const height = Math.max(...blocks.map((b) => b.length));
  const lines: string[] = [];
  for (let i = 0; i < height; i++)
    lines.push(
      blocks
        .map((b) => (b[i] ?? "").padEnd(width))
        .join(" | ")
        .trimEnd(),
    );
  return lines.join("\n");
}

// Model cards are Markdown: rendered with markdown-it with raw HTML off (a card's text is data, not markup)
// and its link validation on (no javascript: links).
import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ html: false, linkify: false, typographer: false });

export default function Markdown({ source }: { source: string }) {
  return (
    <section
      className="markdown"
      data-testid="model-card"
      aria-label="model card"
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
      tabIndex={0}
      // biome-ignore lint/security/noDangerouslySetInnerHtml: markdown-it escapes HTML (html: false)
      dangerouslySetInnerHTML={{ __html: md.render(source) }}
    />
  );
}

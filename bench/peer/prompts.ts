/**
 * The prompts both sides run: texts over the tiny BPE's merged words (whole
 * tokens) and plain bytes (ASCII, accents, CJK, emoji), of different lengths
 * so transformers.js's batch is really left-padded. Each side tokenizes them
 * with its own tokenizer (ours: @sigmaserve/model's HfTokenizer; the peer's:
 * AutoTokenizer), and the bench checks the ids agree before it compares any
 * generated token.
 */

const PARTS = ["Hello world the", " Café naïve", " 日本語", " 👋 hi!\n", " the quick brown fox", " façade 中文", " Hello world!\n", " numbers 12345"] as const;

/** `count` prompts, the i-th made of 1 + (i mod 5) parts starting at part i. */
export function promptTexts(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const parts = 1 + (i % 5);
    return Array.from({ length: parts }, (_, j) => PARTS[(i + j) % PARTS.length]).join("");
  });
}

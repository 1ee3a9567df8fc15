/**
 * The one UTF-8 configuration every byte decode in this folder uses, so that
 * one-shot and streaming decodes cannot drift apart. `ignoreBOM: true` keeps a
 * leading U+FEFF as text: the WHATWG default would silently strip it from the
 * start of every decode, and "\uFEFF..." would not round-trip. `fatal: false`
 * turns invalid sequences into U+FFFD instead of throwing.
 */
// NOTE: imported from node:util (the same classes as the globals) because the
// package compiles without the DOM lib, where the globals have no type.
import { TextDecoder, TextEncoder } from "node:util";

/** A fresh UTF-8 decoder (decoders are stateful in streaming mode; never share one across streams). */
export function newUtf8Decoder(): TextDecoder {
  return new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
}

/** Shared encoder; TextEncoder is stateless. Lone surrogates encode as U+FFFD (EF BF BD). */
export const UTF8_ENCODER = new TextEncoder();

/** The replacement character that stands for bytes that are not valid UTF-8. */
export const REPLACEMENT_CHARACTER = "\uFFFD";

/**
 * How a process proves who it is to a locked-down nats-server, and how it
 * checks the server: at most one credential kind (a .creds file, an nkey
 * seed file, a user with a password file, or a token file) plus optional TLS
 * files. Only paths are configured: secrets never sit on a command line or in
 * the environment, where `ps`, shell history and crash dumps show them.
 *
 * Fail closed: an incomplete or contradictory set (a cert without its key, two
 * credential kinds, a user without a password file) and a file that cannot be
 * read or parsed at start-up are a NatsSecurityConfigError naming the flag,
 * before anything connects. Credentials are read again at every (re)connect,
 * so a rotated password, token, seed or .creds file takes effect at the next
 * reconnect without a restart; TLS files are handed to nats.js as paths, which
 * it reads at every connect too. NOTE: a credential file that cannot be read
 * at a reconnect keeps its last good value (and the failure goes to onError):
 * a rotation caught half-written must not turn a blip into an outage.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import {
  credsAuthenticator,
  nkeyAuthenticator,
  nkeys,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
  type Authenticator,
  type TlsOptions,
} from "@nats-io/transport-node";
import { NatsSecurityConfigError } from "../errors.js";

export interface NatsSecurityOptions {
  /** A NATS .creds file (user JWT + nkey seed), for servers in operator/JWT mode. */
  credsFile?: string;
  /** A file holding a user nkey seed (`SU...`), for `authorization { users = [{ nkey: U... }] }`. */
  nkeySeedFile?: string;
  /** A user name; its password comes from passwordFile. */
  user?: string;
  passwordFile?: string;
  /** A file holding the server's token. */
  tokenFile?: string;
  /** PEM CA bundle that signs the server's certificate; default: Node's built-in CAs. */
  tlsCaFile?: string;
  /** PEM client certificate, for servers that verify clients (`tls { verify: true }`); needs tlsKeyFile. */
  tlsCertFile?: string;
  /** PEM private key of tlsCertFile. */
  tlsKeyFile?: string;
}

/** The flag each option is given by in the worker, the router and the CLI: errors name it. */
export const NATS_SECURITY_FLAGS: { readonly [K in keyof Required<NatsSecurityOptions>]: string } = {
  credsFile: "--nats-creds",
  nkeySeedFile: "--nats-nkey-seed-file",
  user: "--nats-user",
  passwordFile: "--nats-password-file",
  tokenFile: "--nats-token-file",
  tlsCaFile: "--nats-tls-ca",
  tlsCertFile: "--nats-tls-cert",
  tlsKeyFile: "--nats-tls-key",
};

function fail(option: keyof NatsSecurityOptions | "servers", rule: string, cause?: unknown): never {
  throw new NatsSecurityConfigError(option, option === "servers" ? "--nats" : NATS_SECURITY_FLAGS[option], rule, cause === undefined ? undefined : { cause });
}

/** True when any option is set (an empty string counts: it is a mistake to report, not a default). */
export function hasNatsSecurityOptions(options: NatsSecurityOptions): boolean {
  return Object.values(options).some((v) => v !== undefined);
}

/**
 * Checks the options without reading anything: at most one credential kind
 * (counting credentials written in the server URL), user with passwordFile,
 * tlsCertFile with tlsKeyFile, no empty paths. Throws NatsSecurityConfigError.
 */
export function checkNatsSecurityOptions(options: NatsSecurityOptions, urlHasCredentials = false): void {
  for (const [option, value] of Object.entries(options) as [keyof NatsSecurityOptions, string | undefined][]) {
    if (value !== undefined && value.trim() === "") fail(option, "must not be empty");
  }
  const kinds = (["credsFile", "nkeySeedFile", "user", "tokenFile"] as const).filter((k) => options[k] !== undefined);
  if (kinds.length > 1) fail(kinds[1]!, `cannot be combined with ${NATS_SECURITY_FLAGS[kinds[0]!]}: give one kind of NATS credentials`);
  if (options.passwordFile !== undefined && options.user === undefined) fail("passwordFile", `needs ${NATS_SECURITY_FLAGS.user}`);
  if (options.user !== undefined && options.passwordFile === undefined) fail("user", `needs ${NATS_SECURITY_FLAGS.passwordFile}`);
  if (kinds.length > 0 && urlHasCredentials) fail("servers", `the URL carries credentials and ${NATS_SECURITY_FLAGS[kinds[0]!]} is given too: give one kind of NATS credentials`);
  if (options.tlsCertFile !== undefined && options.tlsKeyFile === undefined) fail("tlsCertFile", `needs ${NATS_SECURITY_FLAGS.tlsKeyFile}`);
  if (options.tlsKeyFile !== undefined && options.tlsCertFile === undefined) fail("tlsKeyFile", `needs ${NATS_SECURITY_FLAGS.tlsCertFile}`);
}

/** The parts of nats.js's connection options that the security options set. */
export interface NatsSecurityConnectOptions {
  authenticator?: Authenticator;
  tls?: TlsOptions;
}

/**
 * Checks the options, reads and validates every file once (NatsSecurityConfigError
 * naming the flag on any failure), and returns the authenticator and TLS
 * options for nats.js. `onError` hears a credential file that could not be
 * re-read at a reconnect.
 */
export function loadNatsSecurity(options: NatsSecurityOptions, urlHasCredentials: boolean, onError: (err: Error) => void): NatsSecurityConnectOptions {
  checkNatsSecurityOptions(options, urlHasCredentials);
  const result: NatsSecurityConnectOptions = {};
  if (options.credsFile !== undefined) {
    const creds = rereadable("credsFile", options.credsFile, (text) => {
      const bytes = new TextEncoder().encode(text);
      // Parses the JWT and the seed, and signs a nonce with it: what the first connect would do.
      credsAuthenticator(bytes)("check");
      return bytes;
    }, onError);
    result.authenticator = credsAuthenticator(creds);
  } else if (options.nkeySeedFile !== undefined) {
    const seed = rereadable("nkeySeedFile", options.nkeySeedFile, (text) => {
      const trimmed = text.trim();
      if (!trimmed.startsWith("SU")) throw new Error("is not a user nkey seed (one line starting with SU)");
      const bytes = new TextEncoder().encode(trimmed);
      nkeys.fromSeed(bytes);
      return bytes;
    }, onError);
    result.authenticator = nkeyAuthenticator(seed);
  } else if (options.user !== undefined) {
    result.authenticator = usernamePasswordAuthenticator(options.user, rereadable("passwordFile", options.passwordFile!, secretLine, onError));
  } else if (options.tokenFile !== undefined) {
    result.authenticator = tokenAuthenticator(rereadable("tokenFile", options.tokenFile, secretLine, onError));
  }
  if (options.tlsCaFile !== undefined || options.tlsCertFile !== undefined) result.tls = checkedTls(options);
  return result;
}

/**
 * The secret in a password or token file: the text without its trailing line
 * break(s). NOTE: `echo secret > file` adds a newline and Kubernetes secrets
 * have none; both must give the same secret. Other whitespace is kept.
 */
function secretLine(text: string): string {
  const secret = text.replace(/[\r\n]+$/, "");
  if (secret === "") throw new Error("is empty");
  if (/[\r\n]/.test(secret)) throw new Error("holds more than one line");
  return secret;
}

/**
 * Reads and parses `path` now (NatsSecurityConfigError on failure) and returns
 * a function that reads it again at each call, keeping the last good value
 * when it cannot.
 */
function rereadable<T>(option: keyof NatsSecurityOptions, path: string, parse: (text: string) => T, onError: (err: Error) => void): () => T {
  const read = (): T => {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (cause) {
      fail(option, `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, cause);
    }
    try {
      return parse(text);
    } catch (cause) {
      fail(option, `${path} ${(cause as Error).message}`, cause);
    }
  };
  let last = read();
  return () => {
    try {
      last = read();
    } catch (err) {
      onError(err as Error);
    }
    return last;
  };
}

/** Reads each TLS file once to check it (a PEM certificate, a private key that matches it) and returns the paths. */
function checkedTls(options: NatsSecurityOptions): TlsOptions {
  const readPem = (option: "tlsCaFile" | "tlsCertFile" | "tlsKeyFile", path: string, check: (pem: string) => unknown): string => {
    let pem: string;
    try {
      pem = readFileSync(path, "utf8");
    } catch (cause) {
      fail(option, `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, cause);
    }
    try {
      check(pem);
    } catch (cause) {
      fail(option, `${path} is not a PEM ${option === "tlsKeyFile" ? "private key" : "certificate"}: ${(cause as Error).message}`, cause);
    }
    return pem;
  };
  const tls: TlsOptions = {};
  if (options.tlsCaFile !== undefined) {
    readPem("tlsCaFile", options.tlsCaFile, (pem) => new X509Certificate(pem));
    tls.caFile = options.tlsCaFile;
  }
  if (options.tlsCertFile !== undefined && options.tlsKeyFile !== undefined) {
    const cert = readPem("tlsCertFile", options.tlsCertFile, (pem) => new X509Certificate(pem));
    const key = readPem("tlsKeyFile", options.tlsKeyFile, (pem) => createPrivateKey(pem));
    try {
      createSecureContext({ cert, key });
    } catch (cause) {
      fail("tlsKeyFile", `${options.tlsKeyFile} does not match ${NATS_SECURITY_FLAGS.tlsCertFile} ${options.tlsCertFile}: ${(cause as Error).message}`, cause);
    }
    tls.certFile = options.tlsCertFile;
    tls.keyFile = options.tlsKeyFile;
  }
  return tls;
}

/** The security flags' values as the worker and router configs name them (--nats-creds → natsCreds, ...). */
export interface NatsSecurityFlagValues {
  natsCreds?: string | undefined;
  natsNkeySeedFile?: string | undefined;
  natsUser?: string | undefined;
  natsPasswordFile?: string | undefined;
  natsTokenFile?: string | undefined;
  natsTlsCa?: string | undefined;
  natsTlsCert?: string | undefined;
  natsTlsKey?: string | undefined;
}

/** NatsSecurityOptions from a config's flag values, leaving out the unset ones. */
export function natsSecurityOptionsOf(values: NatsSecurityFlagValues): NatsSecurityOptions {
  const pairs: [keyof NatsSecurityOptions, string | undefined][] = [
    ["credsFile", values.natsCreds],
    ["nkeySeedFile", values.natsNkeySeedFile],
    ["user", values.natsUser],
    ["passwordFile", values.natsPasswordFile],
    ["tokenFile", values.natsTokenFile],
    ["tlsCaFile", values.natsTlsCa],
    ["tlsCertFile", values.natsTlsCert],
    ["tlsKeyFile", values.natsTlsKey],
  ];
  return Object.fromEntries(pairs.filter(([, v]) => v !== undefined)) as NatsSecurityOptions;
}

/**
 * What is wrong with a process's NATS credential and TLS flags, checked without reading any file (the router's
 * and the worker's configs turn it into their own config error); undefined when nothing is.
 */
export function natsSecurityFlagsProblem(values: NatsSecurityFlagValues & { nats?: string | undefined }): string | undefined {
  const security = natsSecurityOptionsOf(values);
  try {
    checkNatsSecurityOptions(security);
  } catch (err) {
    if (err instanceof NatsSecurityConfigError) return err.message;
    throw err;
  }
  if (values.nats === undefined && hasNatsSecurityOptions(security)) return "--nats-*: NATS credential and TLS flags need --nats URL";
  return undefined;
}

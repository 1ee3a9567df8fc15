/** Test helper: POST a JSON body (or a raw string) and read the answer as JSON. */
export async function postJson(url: string, body: unknown, init: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...init.headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
  });
}

/** The status and JSON body of a response. */
export async function jsonOf(res: Response): Promise<{ status: number; body: any }> {
  return { status: res.status, body: await res.json() };
}

/**
 * The /bin/sh wrapper that every test nats-server runs under. It exists so a
 * server never outlives the Node process that started it, even when that
 * process dies by SIGKILL and no JavaScript gets to run.
 *
 * Model: Node spawns `sh -c WATCHDOG_SCRIPT` with stdin a pipe whose only write
 * end Node holds (it never writes to it). The kernel closes that end when Node
 * exits for any reason, and stop() closes it on purpose. The wrapper:
 *   1. starts nats-server in the background, its stdout and stderr going to the wrapper's stderr;
 *   2. prints the server's pid as one line on stdout (Node reads it);
 *   3. runs a watchdog subshell that blocks reading the pipe; on EOF it sends
 *      SIGTERM, polls every 0.1 s for `$2` polls, then sends SIGKILL;
 *   4. waits for the server, stops the watchdog, removes the temp dir `$1`, and
 *      exits with the server's status, so Node sees the wrapper exit when the server exits.
 *
 * Positional parameters: $1 temp dir to remove ("" keeps everything: a restartable
 * server reuses its store), $2 grace in 0.1 s polls, $3... the server command.
 *
 * NOTE: `exec 3<&0` is needed because a non-interactive sh gives background
 * jobs /dev/null as stdin; the watchdog reads the pipe through fd 3 instead.
 * The `read` loop is a shell builtin, so the watchdog starts no child that
 * could outlive it holding the pipe open. The watchdog's own output goes to
 * /dev/null: otherwise a `sleep` orphaned when the wrapper kills the watchdog
 * would hold the stderr pipe, and Node would see "close" up to 0.1 s late.
 */
export const WATCHDOG_SCRIPT = `
exec 3<&0
dir=$1
grace_polls=$2
shift 2
"$@" </dev/null 3<&- >&2 &
server=$!
echo "$server"
(
  while read -r _line; do :; done
  kill -TERM "$server" 2>/dev/null
  i=0
  while kill -0 "$server" 2>/dev/null && [ "$i" -lt "$grace_polls" ]; do
    sleep 0.1
    i=$((i + 1))
  done
  kill -KILL "$server" 2>/dev/null
) <&3 3<&- >/dev/null 2>&1 &
watchdog=$!
exec 3<&- 0</dev/null
wait "$server"
status=$?
kill "$watchdog" 2>/dev/null
if [ -n "$dir" ]; then rm -rf "$dir"; fi
exit "$status"
`;

/** One watchdog poll, in milliseconds (the `sleep 0.1` above). */
export const WATCHDOG_POLL_MS = 100;

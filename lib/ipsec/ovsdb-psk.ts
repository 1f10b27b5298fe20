/**
 * Put a pre-shared key into an OVS Interface's options without it ever being on a command line:
 * ovs-vsctl only takes values as arguments (which `ps` shows to every user), so the transaction
 * goes to ovsdb-server's JSON-RPC socket through a fixed helper program that reads it from stdin.
 * The helper is Python because ovs-monitor-ipsec, which must run wherever this is used, is Python.
 */
import type { Executor } from '../exec/executor.js';
import { OpError } from '../errors.js';
import type { Secret } from './secret.js';

/** Reads {socket, params} on stdin, sends one `transact`, prints {result, error}; never echoes the request. */
export const TRANSACT_PROGRAM = `import json, socket, sys
req = json.load(sys.stdin)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(req.get("timeout", 10))
s.connect(req["socket"])
s.sendall(json.dumps({"method": "transact", "params": req["params"], "id": 0}).encode())
dec = json.JSONDecoder()
buf = ""
while True:
    chunk = s.recv(65536).decode()
    if not chunk:
        sys.exit("ovsdb-server closed the connection")
    buf += chunk
    try:
        msg, end = dec.raw_decode(buf.lstrip())
    except ValueError:
        continue
    buf = buf.lstrip()[end:]
    if msg.get("id") == 0:
        print(json.dumps({"result": msg.get("result"), "error": msg.get("error")}))
        break
`;

/** The OVSDB transaction that replaces the port's IPsec options (psk, and ipsec_esp when given). */
export function pskTransaction(port: string, psk: Secret, esp?: string): unknown[] {
  const where = [['name', '==', port]];
  const keys = ['psk', 'ipsec_esp'];
  const pairs: [string, string][] = [['psk', psk.reveal()], ...(esp ? ([['ipsec_esp', esp]] as [string, string][]) : [])];
  return [
    'Open_vSwitch',
    { op: 'mutate', table: 'Interface', where, mutations: [['options', 'delete', ['set', keys]]] },
    { op: 'mutate', table: 'Interface', where, mutations: [['options', 'insert', ['map', pairs]]] },
  ];
}

export async function setPortPsk(exec: Executor, o: { db: string; port: string; psk: Secret; esp?: string; subject: string; ns?: string }): Promise<void> {
  const input = JSON.stringify({ socket: o.db, params: pskTransaction(o.port, o.psk, o.esp) });
  const r = await exec.run(['python3', '-c', TRANSACT_PROGRAM], { input, timeoutMs: 20_000 });
  const fail = (msg: string) =>
    new OpError({ subject: o.subject, ...(o.ns ? { ns: o.ns } : {}), request: `OVSDB transact on ${o.db}: set Interface ${o.port} options:psk=<redacted>${o.esp ? ` options:ipsec_esp=${o.esp}` : ''}`, kernelMessage: msg });
  if (r.spawnError === 'ENOENT') throw fail('python3 is not installed (ovs-monitor-ipsec needs it too: apt-get install openvswitch-ipsec)');
  if (r.exitCode !== 0) throw fail(r.stderr.trim().split('\n').pop() || `exit ${r.exitCode}`);
  let reply: { result?: { count?: number; error?: string; details?: string }[]; error?: unknown };
  try {
    reply = JSON.parse(r.stdout) as typeof reply;
  } catch {
    throw fail(`unexpected answer: ${r.stdout.slice(0, 200)}`);
  }
  if (reply.error) throw fail(`ovsdb-server: ${JSON.stringify(reply.error)}`);
  const bad = (reply.result ?? []).find((x) => x && x.error);
  if (bad) throw fail(`ovsdb-server: ${bad.error}${bad.details ? ` (${bad.details})` : ''}`);
  if ((reply.result?.[1]?.count ?? 0) < 1) throw fail(`no Interface named "${o.port}" in that database`);
}

/**
 * The SSH hosts of a lab while the engine works on it: one SshExecutor (one multiplexed
 * connection) per host, all opened and checked before anything changes on any host, an iproute2
 * backend over each (ip -batch through the connection's stdin), and the underlay interface of each
 * host discovered from the address the recipe gives it.
 */
import type { Backend } from '../backends/backend.js';
import { createIproute2Backend } from '../backends/iproute2/index.js';
import { SshExecutor, preflight, type SshSpec } from '../exec/ssh.js';
import type { Lab } from '../model/types.js';
import { specFromPlacement } from './ssh-args.js';
import { discoverInterface } from './discover.js';
import { withOvs } from '../backends/composite.js';
import { OvsRunner } from '../backends/ovs-runner.js';
import { IpsecRunner, type Notice } from '../ipsec/runner.js';
import { prepareOvsHosts } from './ovs-service.js';
import type { ConnectionLedger } from './connections.js';

/** Client-side settings applied to every host (not part of recipes): client netns, ssh_config, timeouts. */
export type SshDefaults = Omit<Partial<SshSpec>, 'host' | 'target'>;

/** The SSH specs of every `ssh:` host of a lab, in recipe order. */
export function sshSpecsOf(lab: Lab, defaults: SshDefaults = {}): SshSpec[] {
  return lab.hosts.flatMap((h) => (h.placement.kind === 'ssh' ? [specFromPlacement(h.name, h.placement, defaults)] : []));
}

/** Underlay interface names found on SSH hosts: host → network → ifname. */
export type Discovered = Record<string, Record<string, string>>;

/**
 * The lab with the real underlay interface names of its SSH hosts (pure). Capture checks that
 * named the interface by its network follow the rename.
 */
export function withDiscoveredUnderlay(lab: Lab, found: Discovered): Lab {
  const renamed = new Map<string, Map<string, string>>(); // host → old ifname → new
  const hosts = lab.hosts.map((h) => {
    const f = found[h.name];
    if (!f) return h;
    const m = new Map<string, string>();
    renamed.set(h.name, m);
    return {
      ...h,
      interfaces: h.interfaces.map((i) => {
        const real = f[i.network];
        if (!real || real === i.ifname) return i;
        m.set(i.ifname, real);
        return { ...i, ifname: real };
      }),
    };
  });
  const checks = lab.checks.map((c) => {
    const to = c.kind === 'capture' ? renamed.get(c.host)?.get(c.ifname) : undefined;
    return to && c.kind === 'capture' ? { ...c, ifname: to } : c;
  });
  return { ...lab, hosts, checks };
}

interface Conn {
  key: string;
  exec: SshExecutor;
  backend: Backend;
  /** network → ifname, filled by discover(). */
  underlay: Map<string, string>;
}

export class RemoteHosts {
  private readonly conns = new Map<string, Conn>();

  constructor(
    readonly defaults: SshDefaults = {},
    /** Where the runners' notices go (e.g. how long a tunnel's IPsec SAs took to come up). */
    private readonly notice?: Notice,
    /** Where open connections are put on record, so `gc` can collect them after a crash. */
    private readonly ledger?: ConnectionLedger,
  ) {}

  /**
   * Open a connection to every host in `specs` that is not open yet (all at once; if any host
   * cannot be reached none stays open and SshUnreachableError names every such host).
   */
  async connect(specs: readonly SshSpec[]): Promise<void> {
    const fresh: SshExecutor[] = [];
    for (const spec of specs) {
      const key = JSON.stringify(spec);
      const have = this.conns.get(spec.host);
      if (have?.key === key && have.exec.isOpen) continue;
      if (have) await this.drop(spec.host);
      fresh.push(new SshExecutor(spec, this.ledger ? { ledger: this.ledger } : {}));
    }
    if (!fresh.length) return;
    await preflight(fresh);
    for (const exec of fresh)
      // OVS operations of an SSH host go to the machine's running OVS service over the same connection.
      this.conns.set(exec.spec.host, { key: JSON.stringify(exec.spec), exec, backend: withOvs(createIproute2Backend(exec), new OvsRunner(exec, this.notice), new IpsecRunner(exec, this.notice)), underlay: new Map() });
  }

  /**
   * Open the lab's hosts, then find each one's underlay interface (by the recipe's address) and
   * check the OVS service of every host that uses OVS (lib/remote/ovs-service.ts): all before
   * anything changes on any host.
   */
  async connectLab(lab: Lab): Promise<Lab> {
    const specs = sshSpecsOf(lab, this.defaults);
    await this.connect(specs);
    const found: Discovered = {};
    for (const h of lab.hosts) {
      const c = h.placement.kind === 'ssh' ? this.conns.get(h.name) : undefined;
      if (!c) continue;
      const f: Record<string, string> = (found[h.name] = {});
      for (const i of h.interfaces) {
        let ifname = c.underlay.get(i.network);
        if (!ifname) {
          ifname = (await discoverInterface(c.exec, h.name, i.addresses[0]!)).ifname;
          c.underlay.set(i.network, ifname);
        }
        f[i.network] = ifname;
      }
    }
    return prepareOvsHosts(withDiscoveredUnderlay(lab, found), (h) => this.conns.get(h)?.exec);
  }

  exec(host: string | undefined): SshExecutor | undefined {
    return host === undefined ? undefined : this.conns.get(host)?.exec;
  }

  backend(host: string | undefined): Backend | undefined {
    return host === undefined ? undefined : this.conns.get(host)?.backend;
  }

  /** The specs of the open connections (recorded in the lab state so down/gc can reconnect). */
  specs(): SshSpec[] {
    return [...this.conns.values()].map((c) => c.exec.spec);
  }

  /** Every open executor. */
  execs(): SshExecutor[] {
    return [...this.conns.values()].map((c) => c.exec);
  }

  get size(): number {
    return this.conns.size;
  }

  private async drop(host: string): Promise<void> {
    const c = this.conns.get(host);
    this.conns.delete(host);
    await c?.exec.close();
  }

  /** End every connection (stops remote background processes, `ssh -O exit`). Never throws. */
  async close(): Promise<void> {
    await Promise.all([...this.conns.keys()].map((h) => this.drop(h)));
  }
}

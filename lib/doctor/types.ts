/** One line of `geneve-lab doctor`: a feature or tool, whether it is usable, and the fix if not. */
export interface DoctorItem {
  area: 'privileges' | 'kernel' | 'tool' | 'vm' | 'ovs' | 'ssh';
  feature: string;
  ok: boolean;
  detail: string;
  /** The command or action that fixes it, when not ok. */
  fix?: string;
}

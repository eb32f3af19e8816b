// What the benchmarks read about a process from /proc (Linux).
import { readFileSync } from 'node:fs';

// CPU seconds (user + system) of a process from /proc (clock ticks of 10 ms); NaN once it is gone.
export function procCpuS(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return NaN;
  }
}

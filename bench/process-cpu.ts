import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** utime and stime of a process, in ms, and its parent; undefined when it is gone. */
function readStat(pid: number): { userMs: number; sysMs: number; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), userMs: (Number(fields[11]) * 1000) / TICKS, sysMs: (Number(fields[12]) * 1000) / TICKS };
  } catch {
    return undefined;
  }
}

/** CPU time in ms: this process (`self`) and the live processes below it (`children`), user and system. */
export interface TreeCpu {
  self: { userMs: number; sysMs: number };
  children: { userMs: number; sysMs: number };
}

/**
 * CPU time of this process and of every live process below it (the catalog lane's step children,
 * the sandboxed render children), read from /proc. Children that exit between two readings lose
 * their time, so the benchmarks keep them warm across a measurement.
 */
export function processTreeCpu(root = process.pid): TreeCpu {
  const stats = new Map<number, NonNullable<ReturnType<typeof readStat>>>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) stats.set(Number(name), s);
  }
  const below = (pid: number): boolean => {
    for (let p = stats.get(pid)?.ppid, hops = 0; p !== undefined && p > 1 && hops < 64; p = stats.get(p)?.ppid, hops++)
      if (p === root) return true;
    return false;
  };
  const out: TreeCpu = { self: { userMs: 0, sysMs: 0 }, children: { userMs: 0, sysMs: 0 } };
  for (const [pid, s] of stats) {
    const into = pid === root ? out.self : below(pid) ? out.children : undefined;
    if (!into) continue;
    into.userMs += s.userMs;
    into.sysMs += s.sysMs;
  }
  return out;
}

export const totalCpuMs = (c: TreeCpu): number => c.self.userMs + c.self.sysMs + c.children.userMs + c.children.sysMs;

/** The CPU used between two readings. */
export function cpuSince(before: TreeCpu, after = processTreeCpu()): TreeCpu {
  return {
    self: { userMs: after.self.userMs - before.self.userMs, sysMs: after.self.sysMs - before.self.sysMs },
    children: { userMs: after.children.userMs - before.children.userMs, sysMs: after.children.sysMs - before.children.sysMs },
  };
}

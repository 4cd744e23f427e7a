import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../src/config/paths.js';

/** Percentile of a sorted-or-not list of numbers (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Resident set size of a process in bytes (`/proc/<pid>/status` VmRSS); this process's when no pid. */
export function rssOf(pid?: number): number {
  if (pid === undefined) return process.memoryUsage().rss;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // gone, or not Linux
  }
}

/**
 * Samples the RSS of this process (and of `others`, e.g. a separate engine process) every 100 ms;
 * returns the peaks in MB when stopped: this process's, each other's, and that of their sum.
 */
export function rssSampler(others: number[] = []): { stop(): number; stopAll(): { self: number; others: number[]; sum: number } } {
  const pids = [undefined, ...others];
  const peaks = pids.map(() => 0);
  let sum = 0;
  const sample = () => {
    let total = 0;
    pids.forEach((pid, i) => {
      const rss = rssOf(pid);
      peaks[i] = Math.max(peaks[i]!, rss);
      total += rss;
    });
    sum = Math.max(sum, total);
  };
  sample();
  const timer = setInterval(sample, 100);
  const mb = (b: number) => Math.round(b / 1024 / 1024);
  const stopAll = () => {
    clearInterval(timer);
    sample();
    return { self: mb(peaks[0]!), others: peaks.slice(1).map(mb), sum: mb(sum) };
  };
  return { stopAll, stop: () => stopAll().self };
}

/**
 * Replaces the section `## <title>` of bench/RESULTS.md (or appends it), so each benchmark keeps
 * its latest results and the others' stay.
 */
export function writeResults(title: string, body: string): void {
  const file = path.join(projectRoot(), 'bench', 'RESULTS.md');
  const head = '# Benchmark results\n\nWritten by `npm run bench` (see bench/README in each section for what is measured). Machine: 2 cores, 24 GiB.\n';
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : head;
  const section = `## ${title}\n\n${body.trim()}\n`;
  const re = new RegExp(`## ${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n[\\s\\S]*?(?=\\n## |$)`);
  text = re.test(text) ? text.replace(re, section) : text.trimEnd() + '\n\n' + section;
  fs.writeFileSync(file, text.trimEnd() + '\n');
}

export function sharedDataset(...parts: string[]): string | undefined {
  const p = path.join(projectRoot(), '..', 'shared', 'datasets', ...parts);
  return fs.existsSync(p) ? p : undefined;
}

/** One line about the machine and software a result was measured on. */
export function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 1024 ** 3)} GiB RAM, ${os.platform()} ${os.release()}, Node ${process.version}`;
}

/**
 * The file system a directory is on, from /proc/self/mountinfo (the longest mount point above it):
 * `<mount point> (<type>, <device>[, no journal])`. An ext4 without a journal is named: there the
 * kernel's inode allocator scans past every inode deleted in the last minutes, which the engine's
 * many part files make a visible share of the CPU.
 */
export function fileSystemOf(dir: string): string {
  let best: { mount: string; type: string; source: string } | undefined;
  try {
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [left, right] = line.split(' - ');
      if (!left || !right) continue;
      const mount = left.split(' ')[4]!;
      const [type, source] = right.split(' ');
      const inside = dir === mount || dir.startsWith(mount.endsWith('/') ? mount : mount + '/');
      if (inside && (!best || mount.length >= best.mount.length)) best = { mount, type: type!, source: source! };
    }
  } catch {
    return 'unknown';
  }
  if (!best) return 'unknown';
  let journal = '';
  if (best.type === 'ext4') {
    // Each mounted journal has a /proc/fs/jbd2/<device>-<inode> entry.
    const dev = path.basename(best.source);
    const journals = fs.existsSync('/proc/fs/jbd2') ? fs.readdirSync('/proc/fs/jbd2') : [];
    if (!journals.some((j) => j.startsWith(dev + '-'))) journal = ', no journal';
  }
  return `${best.mount} (${best.type}, ${best.source}${journal})`;
}

/**
 * Replaces the subsection `### <sub>` inside the section `## <section>` of bench/RESULTS.md (creating
 * the section with `intro` when absent), leaving every other section and subsection as it is.
 */
export function writeSubsection(section: string, intro: string, sub: string, body: string): void {
  const file = path.join(projectRoot(), 'bench', 'RESULTS.md');
  const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n';
  const sectionRe = new RegExp(`## ${esc(section)}\\n[\\s\\S]*?(?=\\n## |$)`);
  let block = sectionRe.exec(text)?.[0] ?? `## ${section}\n`;
  // The intro (up to the first subsection) is always the current one.
  const firstSub = block.search(/\n### /);
  const subs = firstSub === -1 ? '' : block.slice(firstSub);
  block = `## ${section}\n\n${intro.trim()}\n${subs}`;
  const subText = `### ${sub}\n\n${body.trim()}\n`;
  const subRe = new RegExp(`### ${esc(sub)}\\n[\\s\\S]*?(?=\\n### |$)`);
  block = subRe.test(block) ? block.replace(subRe, () => subText) : block.trimEnd() + '\n\n' + subText;
  text = sectionRe.test(text) ? text.replace(sectionRe, () => block.trimEnd() + '\n') : text.trimEnd() + '\n\n' + block;
  fs.writeFileSync(file, text.trimEnd() + '\n');
}

/** Where a process's memory is at one instant, MB. */
export interface MemoryParts {
  rss: number;
  /** File-backed pages: the engine's and node's code, read-only data (`RssFile`). */
  file: number;
  /** Anonymous pages (`RssAnon`): V8's heap, the allocators' memory, stacks. */
  anon: number;
  /** V8's heap (all spaces, committed). */
  v8: number;
  /** The embedded engine's allocator (jemalloc): resident, and allocated by the engine; undefined on a server engine. */
  engineResident?: number;
  engineAllocated?: number;
}

const mbOf = (bytes: number) => Math.round(bytes / 1024 / 1024);

function statusParts(): Omit<MemoryParts, 'v8'> {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
  return { rss: Math.round(kb('VmRSS') / 1024), file: Math.round(kb('RssFile') / 1024), anon: Math.round(kb('RssAnon') / 1024) };
}

/**
 * The embedded engine's allocator, from `system.jemalloc_stats` (jemalloc's own summary line:
 * "Allocated: …, active: …, metadata: …, resident: …"). Undefined where the table is missing.
 */
export async function engineAllocator(query: (sql: string) => Promise<string>): Promise<{ resident: number; allocated: number } | undefined> {
  try {
    const m = /Allocated: (\d+), active: \d+, metadata: \d+.*?resident: (\d+)/.exec(await query('SELECT * FROM system.jemalloc_stats'));
    return m ? { allocated: mbOf(Number(m[1])), resident: mbOf(Number(m[2])) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Samples this process's memory by kind every 100 ms (the engine's allocator every second, when
 * `engineQuery` is given), and keeps the sample with the largest RSS and the medians, so a peak
 * says what it was made of.
 */
export function memoryComposition(engineQuery?: (sql: string) => Promise<string>): { stop(): Promise<{ peak: MemoryParts; median: MemoryParts }> } {
  const samples: MemoryParts[] = [];
  let engine: { resident: number; allocated: number } | undefined;
  let running = true;
  const engineLoop = (async () => {
    while (running && engineQuery) {
      engine = (await engineAllocator(engineQuery)) ?? engine;
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  const sample = () => {
    const v8 = mbOf(process.memoryUsage().heapTotal);
    samples.push({ ...statusParts(), v8, engineResident: engine?.resident, engineAllocated: engine?.allocated });
  };
  const timer = setInterval(sample, 100);
  sample();
  return {
    async stop() {
      clearInterval(timer);
      running = false;
      await engineLoop;
      const peak = samples.reduce((a, b) => (b.rss > a.rss ? b : a));
      const med = (k: keyof MemoryParts) => {
        const v = samples.map((s) => s[k]).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
        return v.length ? v[v.length >> 1]! : undefined;
      };
      const median = { rss: med('rss')!, file: med('file')!, anon: med('anon')!, v8: med('v8')!, engineResident: med('engineResident'), engineAllocated: med('engineAllocated') };
      return { peak, median };
    },
  };
}

/** "558 MB = 238 file-backed (code) + 320 anonymous: V8 heap 125, engine allocator 105 resident (65 allocated), other 90". */
export function describeMemory(p: MemoryParts): string {
  const engine = p.engineResident === undefined ? '' : `, engine allocator ${fmt(p.engineResident)} resident (${fmt(p.engineAllocated ?? 0)} allocated by the engine)`;
  const other = p.anon - p.v8 - (p.engineResident ?? 0);
  return `${fmt(p.rss)} MB = ${fmt(p.file)} file-backed (the engine's and node's code) + ${fmt(p.anon)} anonymous: V8 heap ${fmt(p.v8)}${engine}, other ${fmt(other)} MB`;
}

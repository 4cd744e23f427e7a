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

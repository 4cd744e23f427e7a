import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMigrations, renderForCluster, splitStatements } from '../../src/warehouse/migrations.js';

test('migrations are numbered without gaps and each has statements', () => {
  const ms = loadMigrations();
  assert.ok(ms.length >= 4);
  ms.forEach((m, i) => {
    assert.equal(m.version, i + 1);
    assert.ok(m.statements.length > 0, `${m.file} has statements`);
    assert.match(m.checksum, /^[0-9a-f]{64}$/);
  });
});

test('statements split on ; at line end, comments dropped', () => {
  const s = splitStatements('-- a comment; with semicolon\nCREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;\n\nCREATE TABLE b (y String) ENGINE = Memory;\n');
  assert.deepEqual(s, ['CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x', 'CREATE TABLE b (y String) ENGINE = Memory']);
});

test('cluster rendering adds ON CLUSTER and Replicated engines', () => {
  const zk = `'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'`;
  assert.equal(renderForCluster('CREATE TABLE IF NOT EXISTS t (v UInt64) ENGINE = ReplacingMergeTree(v) ORDER BY v'), 'CREATE TABLE IF NOT EXISTS t (v UInt64) ENGINE = ReplacingMergeTree(v) ORDER BY v');
  assert.equal(
    renderForCluster('CREATE TABLE IF NOT EXISTS t (v UInt64) ENGINE = ReplacingMergeTree(v, d) ORDER BY v', 'main'),
    `CREATE TABLE IF NOT EXISTS t ON CLUSTER main (v UInt64) ENGINE = ReplicatedReplacingMergeTree(${zk}, v, d) ORDER BY v`,
  );
  assert.equal(
    renderForCluster('CREATE TABLE t (v UInt64)\nENGINE = MergeTree\nORDER BY v', 'main'),
    `CREATE TABLE t ON CLUSTER main (v UInt64)\nENGINE = ReplicatedMergeTree(${zk})\nORDER BY v`,
  );
  for (const m of loadMigrations()) {
    for (const st of m.statements) {
      const r = renderForCluster(st, 'c1');
      assert.match(r, /ON CLUSTER c1/, `${m.file}: ${st.slice(0, 60)}`);
      // Memory tables (the Online Retail import's working tables, 0011) stay per server: that import
      // is not used on a cluster.
      if (/^CREATE TABLE/i.test(st) && !/ENGINE = Memory$/.test(st)) assert.match(r, /ENGINE = Replicated\w*MergeTree\('/, `${m.file}: replicated engine`);
    }
  }
});

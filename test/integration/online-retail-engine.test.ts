/**
 * The engine (SQL) import of the Online Retail format stores exactly what the streaming mapper
 * stores: the same facts with the same row hashes, dimensions, bronze rows, rejects (reason, field,
 * message, raw line) and batch counts — on a generated file that exercises every rule, in UTF-8 with
 * a BOM and CRLF, in ISO-8859-1 (with Windows-1252 bytes) and gzip-compressed. Re-imports change
 * nothing, also across the two paths; corrections replace old rows the same way; files the engine
 * cannot read exactly like the CSV reader are declined before anything is written. The engine
 * reads the file itself (embedded) or gets its lines sent (a server): both give the same rows.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Warehouse } from '../../src/warehouse/client.js';
import { fingerprint, importInEngine, importStreaming } from '../support/online-retail-paths.js';
import { importOnlineRetailInEngine } from '../../src/ingest/formats/online-retail-sql.js';
import { batchRow, one } from '../support/import-helpers.js';
import { tempWarehouse } from '../support/warehouse.js';

const TZ = 'Europe/London';
const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';

/** Lines exercising every rule of docs/online-retail.md (see the comment on each). */
function ruleLines(): string[] {
  const long = '5'.repeat(201);
  return [
    // a sale of three lines; a quoted description with a comma and an escaped quote
    '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom',
    '536365,71053,"METAL LANTERN, WHITE",6,12/1/2010 8:26,3.39,17850,United Kingdom',
    '536365,22752,"SET 7 BABUSHKA ""NESTING"" BOXES",2,12/1/2010 8:26,7.65,17850,United Kingdom',
    // an exact repeat (duplicate) and a near repeat (trailing space: not a duplicate)
    '536365,71053,"METAL LANTERN, WHITE",6,12/1/2010 8:26,3.39,17850,United Kingdom',
    '536365,71053,"METAL LANTERN, WHITE ",6,12/1/2010 8:26,3.39,17850,United Kingdom',
    // a cancellation; a positive quantity inside it
    'C536379,D,Discount,-1,12/1/2010 9:41,27.50,14527,United Kingdom',
    'C536379,22556,PLASTERS IN TIN CIRCUS PARADE,12,12/1/2010 9:41,1.65,14527,United Kingdom',
    // other invoice prefixes, negative price, negative quantity in a sale
    'A563185,B,Adjust bad debt,1,8/12/2011 14:50,11062.06,,United Kingdom',
    '536381,22139,RETROSPOT TEA SET CERAMIC 11 PC,-3,12/1/2010 9:41,4.95,15311,United Kingdom',
    '536382,22900,SET 2 TEA TOWELS,1,12/1/2010 9:45,-2.95,15311,United Kingdom',
    // missing and invalid values, each naming its column
    ',22900,x,1,12/1/2010 9:45,2.95,15311,United Kingdom',
    '536383, ,x,1,12/1/2010 9:45,2.95,15311,United Kingdom',
    '536383,22900,x,,12/1/2010 9:45,2.95,15311,United Kingdom',
    '536383,22900,x,1,,2.95,15311,United Kingdom',
    '536383,22900,x,1,12/1/2010 9:45,,15311,United Kingdom',
    `${long},22900,x,1,12/1/2010 9:45,2.95,15311,United Kingdom`,
    `536383,${long},x,1,12/1/2010 9:45,2.95,15311,United Kingdom`,
    `536383,22900,x,1,12/1/2010 9:45,2.95,${long},United Kingdom`,
    '536383,22900,x,abc,12/1/2010 9:45,2.95,15311,United Kingdom',
    '536383,22900,x,0,12/1/2010 9:45,2.95,15311,United Kingdom',
    '536383,22900,x,3000000000,12/1/2010 9:45,2.95,15311,United Kingdom',
    '536383,22900,x,1,13/45/2010 9:45,2.95,15311,United Kingdom',
    '536383,22900,x,1,12/1/2010 9:45,2.95001,15311,United Kingdom',
    '536383,22900,x,2000000000,12/1/2010 9:45,99999999999.9999,15311,United Kingdom',
    '536383,22900,x,1,12/1/2010 9:45,2.95,15311,Atlantis',
    // guest orders (no CustomerID), a customer id written as a float
    '536384,22633,HAND WARMER UNION JACK,6,12/1/2010 9:53,1.85,,United Kingdom',
    '536385,22632,HAND WARMER RED POLKA DOT,6,12/1/2010 9:53,1.85,13047.0,United Kingdom',
    // non-merchandise codes; a lower-case code is the same product as its upper-case one
    '536386,POST,POSTAGE,3,12/1/2010 10:00,18.00,12583,France',
    '536386,BANK CHARGES,Bank Charges,1,12/1/2010 10:00,15.00,12583,France',
    '536386,gift_0001_20,Dotcomgiftshop Gift Voucher £20.00,1,12/1/2010 10:00,17.02,12583,France',
    '536387,85123a,WHITE HANGING HEART T-LIGHT HOLDER (NEW),1,11/1/2010 8:00,2.55,,United Kingdom',
    // the most recent description names a product, whatever the file order
    '536388,84029E,RED WOOLLY HOTTIE WHITE HEART.,6,12/5/2010 8:26,3.39,17851,United Kingdom',
    '536389,84029E,OLD NAME,6,12/2/2010 8:26,3.39,17851,United Kingdom',
    '536390,84029E,,6,12/9/2010 8:26,3.39,17851,United Kingdom',
    // a customer moves (SCD2), and two countries at one instant (the later line wins)
    '536391,21730,GLASS STAR FROSTED T-LIGHT HOLDER,6,1/10/2011 10:00,4.25,17852,Germany',
    '536392,21730,GLASS STAR FROSTED T-LIGHT HOLDER,6,3/10/2011 10:00,4.25,17852,France',
    '536393,21730,GLASS STAR FROSTED T-LIGHT HOLDER,6,3/10/2011 10:00,4.25,17852,EIRE',
    // an invoice whose later lines disagree: time, customer and country come from its first line
    '536394,21731,RED TOADSTOOL LED NIGHT LIGHT,2,4/1/2011 9:00,1.65,17853,Spain',
    '536394,21732,BLUE TOADSTOOL LED NIGHT LIGHT,2,4/2/2011 9:30,1.65,17854,Portugal',
    // the DST change of Europe/London: a time that does not exist, one that happens twice
    '536395,22111,SCOTTIE DOG HOT WATER BOTTLE,1,3/27/2011 1:30,4.95,17855,United Kingdom',
    '536396,22111,SCOTTIE DOG HOT WATER BOTTLE,1,10/30/2011 1:30,4.95,17855,United Kingdom',
    // exact money: fractional prices and a large quantity
    '536397,16216,LETTER SHAPE PENCIL SHARPENER,4800,12/1/2010 11:00,0.0010,17856,Netherlands',
    '536397,16218,CARTOON PENCIL SHARPENERS,+7,12/1/2010 11:00,0.2100,17856,Netherlands',
    // text outside ASCII (ISO-8859-1 letters and Windows-1252 punctuation)
    '536398,23000,CAFÉ “CRÈME” CUP – SET,2,12/1/2010 12:00,1.25,17857,Unspecified',
  ];
}

interface Variant {
  name: string;
  encode(text: string): Buffer;
  eol: string;
  bom?: boolean;
  gzip?: boolean;
}

const latin1 = (text: string) => {
  // Windows-1252 for the characters ISO-8859-1 lacks (as a Windows export would write them).
  const cp1252: Record<string, number> = { '“': 0x93, '”': 0x94, '–': 0x96, '€': 0x80 };
  return Buffer.from([...text].map((ch) => cp1252[ch] ?? ch.charCodeAt(0)));
};

const VARIANTS: Variant[] = [
  { name: 'utf8-bom-crlf', encode: (t) => Buffer.from(t, 'utf8'), eol: '\r\n', bom: true },
  { name: 'latin1-lf', encode: latin1, eol: '\n' },
  { name: 'latin1-gzip', encode: latin1, eol: '\n', gzip: true },
];

let wh: Warehouse;
const tmp = tempWarehouse((w) => (wh = w));

function writeFile(name: string, lines: string[], v: Variant, extra = ''): string {
  // blank lines and a line of empty fields are skipped by the reader (they still count as lines)
  const body = [HEADER, ...lines.slice(0, 5), '', ',,,,,,,', ...lines.slice(5)].join(v.eol) + v.eol + extra;
  let bytes = v.encode(body);
  if (v.bom) bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
  if (v.gzip) bytes = zlib.gzipSync(bytes);
  const file = path.join(tmp.dir, `${name}.csv${v.gzip ? '.gz' : ''}`);
  fs.writeFileSync(file, bytes);
  return file;
}


const STAGING_TABLES = ['file', 'text', 'fields', 'values', 'lines', 'items', 'orders'].map((t) => `staging_online_retail_${t}`);

/** The working tables that still hold rows (an import deletes its own when it ends, whatever the outcome). */
async function leftInStaging(): Promise<Record<string, string>> {
  const left: Record<string, string> = {};
  for (const t of STAGING_TABLES) {
    const r = await one(wh, `SELECT toString(count()) AS n FROM ${t}`);
    if (r.n !== '0') left[t] = r.n;
  }
  return left;
}

describe('the engine import stores exactly what the streaming import stores', () => {
  for (const v of VARIANTS) {
    it(`every rule, ${v.name}`, async () => {
      const file = writeFile(`rules-${v.name}`, ruleLines(), v);
      const js = await importStreaming({ wh, storeId: `js-${v.name}`, batchId: `js-${v.name}-1`, file, timezone: TZ });
      const sql = await importInEngine({ wh, storeId: `sql-${v.name}`, batchId: `sql-${v.name}-1`, file, timezone: TZ });
      assert.ok(sql, 'the engine takes the file');
      const counts = (r: typeof js) => ({ read: r.read, inserted: r.inserted, unchanged: r.unchanged, rejected: r.rejected, reasons: r.rejectsByReason, days: r.affected.days });
      assert.deepEqual(counts(sql), counts(js));
      // every reject reason of the format occurs in this file
      assert.deepEqual(Object.keys(js.rejectsByReason).sort(), [
        'duplicate',
        'invalid_value',
        'missing_field',
        'negative_price',
        'negative_quantity',
        'positive_quantity_in_cancellation',
        'unknown_invoice_type',
      ]);
      assert.equal(js.read, ruleLines().length, 'blank lines and a line of empty fields are not records');
      assert.deepEqual(await fingerprint(wh, `sql-${v.name}`, `sql-${v.name}-1`), await fingerprint(wh, `js-${v.name}`, `js-${v.name}-1`));
      // the lines sent by this process instead of read by the engine (as for a ClickHouse server)
      const up = await importInEngine({ wh, storeId: `up-${v.name}`, batchId: `up-${v.name}-1`, file, timezone: TZ, transfer: 'upload' });
      assert.deepEqual(counts(up!), counts(js));
      assert.deepEqual(await fingerprint(wh, `up-${v.name}`, `up-${v.name}-1`), await fingerprint(wh, `js-${v.name}`, `js-${v.name}-1`));
      const b = await batchRow(wh, `sql-${v.name}-1`);
      assert.deepEqual(b, { status: 'completed', read: js.read, inserted: js.inserted, unchanged: 0, rejected: js.rejected });

      // the same file again through the engine: nothing new
      const again = await importInEngine({ wh, storeId: `sql-${v.name}`, batchId: `sql-${v.name}-2`, file, timezone: TZ });
      assert.deepEqual(counts(again!), { ...counts(js), inserted: 0, unchanged: js.inserted, days: [] });
      // and through the engine into the store the streaming path loaded: the same row hashes, nothing new
      const cross = await importInEngine({ wh, storeId: `js-${v.name}`, batchId: `js-${v.name}-2`, file, timezone: TZ });
      assert.equal(cross!.inserted, 0);
      assert.equal(cross!.unchanged, js.inserted);
      assert.deepEqual(await fingerprint(wh, `js-${v.name}`, `js-${v.name}-1`), await fingerprint(wh, `sql-${v.name}`, `sql-${v.name}-1`));
      assert.deepEqual(await leftInStaging(), {}, 'no working rows left behind');
    });
  }

  it('a file of only the header: an empty, completed batch on both paths', async () => {
    const file = path.join(tmp.dir, 'header-only.csv');
    fs.writeFileSync(file, HEADER + '\n');
    const js = await importStreaming({ wh, storeId: 'js-empty', batchId: 'js-empty-1', file, timezone: TZ });
    const sql = await importInEngine({ wh, storeId: 'sql-empty', batchId: 'sql-empty-1', file, timezone: TZ });
    assert.deepEqual({ read: sql!.read, inserted: sql!.inserted, rejected: sql!.rejected }, { read: 0, inserted: 0, rejected: 0 });
    assert.deepEqual(await fingerprint(wh, 'sql-empty', 'sql-empty-1'), await fingerprint(wh, 'js-empty', 'js-empty-1'));
    assert.equal(js.read, 0);
  });

  it('a corrected file replaces the changed rows the same way (a price, an invoice moved to another day)', async () => {
    const v = VARIANTS[1]!;
    const first = writeFile('before', ruleLines(), v);
    const corrected = ruleLines().map((l) =>
      l.startsWith('536365,85123A') ? l.replace(',2.55,', ',2.65,') : l.startsWith('536384,') ? l.replace('12/1/2010 9:53', '12/3/2010 9:53') : l,
    );
    const second = writeFile('after', corrected, v);
    await importStreaming({ wh, storeId: 'js-fix', batchId: 'js-fix-1', file: first, timezone: TZ });
    await importInEngine({ wh, storeId: 'sql-fix', batchId: 'sql-fix-1', file: first, timezone: TZ });
    const js = await importStreaming({ wh, storeId: 'js-fix', batchId: 'js-fix-2', file: second, timezone: TZ });
    const sql = await importInEngine({ wh, storeId: 'sql-fix', batchId: 'sql-fix-2', file: second, timezone: TZ });
    assert.equal(js.inserted, 2, 'two changed lines');
    assert.deepEqual({ inserted: sql!.inserted, unchanged: sql!.unchanged, days: sql!.affected.days }, { inserted: js.inserted, unchanged: js.unchanged, days: js.affected.days });
    assert.ok(js.affected.days.includes('2010-12-01') && js.affected.days.includes('2010-12-03'), 'the old and the new day of the moved invoice');
    assert.deepEqual(await fingerprint(wh, 'sql-fix', 'sql-fix-2'), await fingerprint(wh, 'js-fix', 'js-fix-2'));
    const moved = await one(
      wh,
      `SELECT toString(count()) AS n, toString(min(toDate(created_at))) AS day FROM fact_order_items FINAL WHERE store_id = 'sql-fix' AND order_id = '536384'`,
    );
    assert.deepEqual(moved, { n: '1', day: '2010-12-03' }, 'the moved line is stored once, under its new day');
  });
});

describe('files the engine does not read like the CSV reader are declined, with nothing written', () => {
  const cases: [string, string][] = [
    ['a quoted field spanning two lines', `${HEADER}\n536365,85123A,"TWO\nLINES",6,12/1/2010 8:26,2.55,17850,United Kingdom\n`],
    ['a row with too few columns', `${HEADER}\n536365,85123A,SHORT ROW,6\n`],
    ['another delimiter', `${HEADER.replaceAll(',', ';')}\n536365;85123A;X;6;12/1/2010 8:26;2.55;17850;United Kingdom\n`],
    ['other columns', `InvoiceNo,StockCode,Quantity\n536365,85123A,6\n`],
  ];
  for (const [name, text] of cases) {
    it(name, async () => {
      const file = path.join(tmp.dir, `declined-${name.replaceAll(' ', '-')}.csv`);
      fs.writeFileSync(file, text);
      const batchId = `declined-${name}`;
      assert.equal(await importInEngine({ wh, storeId: 'declined', batchId, file, timezone: TZ }), undefined);
      assert.equal(await importInEngine({ wh, storeId: 'declined', batchId, file, timezone: TZ, transfer: 'upload' }), undefined);
      const written = await one(
        wh,
        `SELECT (SELECT toString(count()) FROM raw_order_items WHERE batch_id = {b:String}) AS bronze,
                (SELECT toString(count()) FROM ingest_batches WHERE batch_id = {b:String}) AS batches,
                (SELECT toString(count()) FROM staging_online_retail_file WHERE batch_hex = lower(hex({b:String}))) AS staged`,
        { b: batchId },
      );
      assert.deepEqual(written, { bronze: '0', batches: '0', staged: '0' });
      assert.deepEqual(await leftInStaging(), {}, 'no working rows left behind');
    });
  }
});

describe('files larger than the engine import takes, and clusters, stream instead', () => {
  it('on a ClickHouse cluster (its working tables are one server\'s memory): declined', async () => {
    const file = writeFile('cluster', ruleLines(), VARIANTS[1]!);
    const onCluster = { ...wh, cluster: 'c1' };
    const r = await importOnlineRetailInEngine({ wh: onCluster, storeId: 'cluster', batchId: 'cluster-1', path: file, source: 'c.csv', timezone: TZ, retentionDays: 30 });
    assert.equal(r, undefined);
    assert.deepEqual(await one(wh, `SELECT toString(count()) AS n FROM ingest_batches WHERE store_id = 'cluster'`), { n: '0' });
  });

  for (const v of [VARIANTS[1]!, VARIANTS[2]!]) {
    it(`${v.name}: declined above maxBytes (the uncompressed size), taken at it`, async () => {
      const file = writeFile(`size-${v.name}`, ruleLines(), v);
      const size = v.gzip ? zlib.gunzipSync(fs.readFileSync(file)).length : fs.statSync(file).size;
      const run = (batchId: string, maxBytes: number) =>
        importOnlineRetailInEngine({ wh, storeId: `size-${v.name}`, batchId, path: file, source: 'size.csv', timezone: TZ, retentionDays: 30, maxBytes });
      assert.equal(await run(`size-${v.name}-1`, size - 1), undefined);
      const written = await one(wh, 'SELECT (SELECT toString(count()) FROM ingest_batches WHERE store_id = {s:String}) AS batches', { s: `size-${v.name}` });
      assert.deepEqual(written, { batches: '0' });
      const taken = await run(`size-${v.name}-2`, size);
      assert.equal(taken?.read, ruleLines().length);
    });
  }
});

// The independent side of test_hdr_interop: hdr-histogram-js decodes what lib/hdr
// encoded, or records and encodes values for lib/hdr to decode. Prints one fact per line
// ("key value..."), which the C test compares with its own figures.
//
//   node interop.js decode DIR FILE             FILE holds a base64 histogram
//   node interop.js record DIR SEED N INTERVAL  N generated values, corrected when
//                                               INTERVAL > 0 (recordValueWithExpectedInterval)
//
// DIR is the npm prefix holding node_modules/hdr-histogram-js.
"use strict";
const fs = require("fs");
const path = require("path");

const [cmd, dir, ...rest] = process.argv.slice(2);
const hdr = require(path.join(path.resolve(dir), "node_modules", "hdr-histogram-js"));

const PERCENTILES = [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 99.999, 100];

// The load-generator-like sequence test_hdr_interop.c regenerates: a 32-bit LCG, mostly
// 1..20000 us with a stall of 1..4 s now and then.
function* values(seed, n) {
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    yield x % 997 === 0 ? 1000000 + (x % 3000000) : 1 + (x % 20000);
  }
}

function describe(h) {
  const out = [];
  let minIndex = -1;
  for (let i = 0; i < h.countsArrayLength; i++) {
    const c = h.getCountAtIndex(i);
    if (c > 0) {
      if (minIndex < 0) minIndex = i;
      out.push(`bucket ${h.valueFromIndex(i)} ${c}`);
    }
  }
  // Java's getMinValue: 0 when slot 0 holds counts or the histogram is empty.
  const min = minIndex <= 0 ? 0 : h.lowestEquivalentValue(h.valueFromIndex(minIndex));
  out.unshift(
    `config ${h.lowestDiscernibleValue} ${h.highestTrackableValue} ${h.numberOfSignificantValueDigits}`,
    `count ${h.totalCount}`,
    `min ${min}`,
    `mean ${h.mean.toPrecision(17)}`,
    `stddev ${h.stdDeviation.toPrecision(17)}`,
    ...PERCENTILES.map((p) => `pct ${p} ${h.getValueAtPercentile(p)}`)
  );
  if (h.totalCount > 0) {
    // Rows of outputPercentileDistribution(5) in CSV: value, percentile, total count.
    const csv = h.outputPercentileDistribution(5, 1, true).trim().split("\n").slice(1);
    for (const line of csv) {
      const [v, p, total] = line.split(",");
      out.push(`row ${Math.round(Number(v))} ${p} ${total}`);
    }
  }
  return out.join("\n") + "\n";
}

const build = (lowest, highest, digits) =>
  hdr.build({
    lowestDiscernibleValue: lowest,
    highestTrackableValue: highest,
    numberOfSignificantValueDigits: digits,
    bitBucketSize: 64,
    autoResize: false,
    useWebAssembly: false,
  });

if (cmd === "decode") {
  const b64 = fs.readFileSync(rest[0], "utf8");
  process.stdout.write(describe(hdr.decodeFromCompressedBase64(b64, 64)));
} else if (cmd === "record") {
  const [seed, n, interval] = rest.map(Number);
  const h = build(1, 3600000000, 3);
  for (const v of values(seed, n)) {
    if (interval > 0) h.recordValueWithExpectedInterval(v, interval);
    else h.recordValue(v);
  }
  process.stdout.write(`b64 ${hdr.encodeIntoCompressedBase64(h)}\n` + describe(h));
} else {
  process.stderr.write("usage: interop.js decode DIR FILE | record DIR SEED N INTERVAL\n");
  process.exit(2);
}

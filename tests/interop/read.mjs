// Reads a fieldcrm document with the Automerge JS client (tests/js_interop.rs).
//
//   node tests/interop/read.mjs IN.automerge OUT.automerge [FIELD VALUE]
//
// Loads IN (a document's saved Automerge bytes), prints JSON with the document's `name`
// and every change's time (an ISO date: Automerge change times are seconds since the
// epoch) and actor; then sets FIELD (default `industry`) to VALUE (default 制造业) the
// way a JS app would — a plain JS string, which the JS client stores as a text object
// by default — and saves the whole document to OUT.
import { readFileSync, writeFileSync } from "node:fs";
import * as Automerge from "@automerge/automerge";

const [input, output, field = "industry", value = "制造业"] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node read.mjs IN.automerge OUT.automerge [FIELD VALUE]");
  process.exit(2);
}

const doc = Automerge.load(new Uint8Array(readFileSync(input)));

const describe = (bytes) => {
  const c = Automerge.decodeChange(bytes);
  return {
    hash: c.hash,
    actor: c.actor,
    seq: c.seq,
    time: c.time,
    date: new Date(c.time * 1000).toISOString(),
  };
};

const changes = Automerge.getAllChanges(doc).map(describe);

const edited = Automerge.change(doc, (d) => {
  d[field] = value;
});
writeFileSync(output, Automerge.save(edited));

const mine = Automerge.getLastLocalChange(edited);
const fieldValue = edited[field];
console.log(
  JSON.stringify(
    {
      // fieldcrm writes scalar strings, which this client reads as ImmutableString.
      name: doc.name === undefined ? null : String(doc.name),
      changes,
      edit: {
        field,
        value: String(fieldValue),
        // A text object (the JS default), not an ImmutableString.
        text: typeof fieldValue === "string" && !Automerge.isImmutableString(fieldValue),
        change: mine ? describe(mine) : null,
      },
    },
    null,
    2,
  ),
);

// The ops of the CRDT tests on a Yjs document: the same ops (JSON) that
// pkc-ydriver runs on pkc (see the op list in ydriver.c).
export const makeOps = Y => {
  const CTORS = { 0: Y.Array, 1: Y.Map, 2: Y.Text, 3: Y.XmlElement, 4: Y.XmlFragment, 6: Y.XmlText }

  const kindOf = t => t instanceof Y.XmlText ? 6 : t instanceof Y.Text ? 2 : t instanceof Y.XmlElement ? 3
    : t instanceof Y.XmlFragment ? 4 : t instanceof Y.XmlHook ? 5 : t instanceof Y.Map ? 1 : t instanceof Y.Array ? 0 : -1

  const newType = (kind, name) => kind === 0 ? new Y.Array() : kind === 1 ? new Y.Map() : kind === 2 ? new Y.Text()
    : kind === 3 ? new Y.XmlElement(name) : kind === 4 ? new Y.XmlFragment() : new Y.XmlText()

  // JSON with tags -> JavaScript values: {"$bin": hex}, {"$undef": 1}
  const fromJ = v => {
    if (v !== null && typeof v === 'object') {
      if (v.$bin !== undefined) return new Uint8Array(Buffer.from(v.$bin, 'hex'))
      if (v.$undef !== undefined) return undefined
      if (Array.isArray(v)) return v.map(fromJ)
      const o = {}
      for (const k of Object.keys(v)) o[k] = fromJ(v[k])
      return o
    }
    return v
  }

  // JavaScript values -> JSON with tags (what ydriver's events print)
  const toJ = v => {
    if (v === undefined) return { $undef: 1 }
    if (v instanceof Y.AbstractType) return { $type: kindOf(v) }
    if (v instanceof Y.Doc) return { $doc: v.guid }
    if (v instanceof Uint8Array) return { $bin: Buffer.from(v).toString('hex') }
    if (typeof v === 'bigint') return { $big: v.toString() }
    if (Array.isArray(v)) return v.map(toJ)
    if (v !== null && typeof v === 'object') {
      const o = {}
      for (const k of Object.keys(v)) o[k] = toJ(v[k])
      return o
    }
    return v
  }

  // path = [root, kind, step...]: steps are map keys or list indices
  const resolve = (doc, p) => {
    let t = doc.get(p[0], CTORS[p[1]])
    for (let i = 2; i < p.length; i++) t = t.get(p[i])
    return t
  }

  const applyOp = (doc, op) => {
    const t = resolve(doc, op.p)
    switch (op.o) {
      case 'mset': t.set(op.k, fromJ(op.v)); break
      case 'mset_t': t.set(op.k, newType(op.kind, op.name)); break
      case 'mdel': t.delete(op.k); break
      case 'ains': t.insert(op.i, fromJ(op.v)); break
      case 'ains_t': t.insert(op.i, [newType(op.kind, op.name)]); break
      case 'apush': t.push(fromJ(op.v)); break
      case 'adel': t.delete(op.i, op.n); break
      case 'tins': op.a === null || op.a === undefined ? t.insert(op.i, op.s) : t.insert(op.i, op.s, fromJ(op.a)); break
      case 'tembed': op.a === null || op.a === undefined ? t.insertEmbed(op.i, fromJ(op.v)) : t.insertEmbed(op.i, fromJ(op.v), fromJ(op.a)); break
      case 'tembed_t': t.insertEmbed(op.i, newType(op.kind)); break
      case 'tdel': t.delete(op.i, op.n); break
      case 'tfmt': t.format(op.i, op.n, fromJ(op.a)); break
      case 'xel': t.insert(op.i, [new Y.XmlElement(op.name)]); break
      case 'xtext': t.insert(op.i, [new Y.XmlText()]); break
      case 'xattr': t.setAttribute(op.k, op.v); break
      case 'xrmattr': t.removeAttribute(op.k); break
      case 'delta': t.applyDelta(fromJ(op.v)); break
      default: throw new Error('op ' + op.o)
    }
  }
  return { CTORS, kindOf, newType, fromJ, toJ, resolve, applyOp }
}

#!/usr/bin/env python3
"""Random einsum differential test: -O0 against -O2, both against Python.

Usage: random_einsum.py TNSC [-j N] [--programs N] [--seed S] [--keep DIR]

With fixed seeds, generates programs of random TNS index statements
(2-5 operands, ranks 0-4, sizes 1-6; shared, batch, outer and repeated
indices, scalar operands, sums of terms, max/min/sum/logsumexp reductions
and nestings of them, softmax (also causally masked), where(i <= j, ...,
0.0), index values f64(i), shifted reads X[2 * i + k + 1] with explicit
ranges, i % m, grouped indices on either side, `+=` (also reading its own
target), earlier results as operands, GEMM-shaped products). Operands come
from randn() and are saved next to the results; each program runs at -O0
and -O2. A statement passes
when both levels agree (rtol 1e-9, atol 1e-12) and -O0 agrees with a
reference computed here in pure Python from the saved operands (the same
implicit-sum rule: an index not on the left is summed over the smallest
subexpression holding all of its uses). A program that fails to compile
or run is retried one statement at a time, so that each failure names its
statement (--keep DIR writes those statements' programs there). Prints
a line per failure, then `N passed, N failed`; exits 1 on any failure.
"""
import math
import os
import re
import random
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import read_npy  # noqa: E402  (the .npy reader of the conformance runner)

PROGRAMS = 36
PER_PROGRAM = 12
SEED = 20240607
BUDGET = 3000          # product of all index sizes of one statement
TIMEOUT = 120
RTOL, ATOL = 1e-9, 1e-12
LETTERS = "ijklmnpqrstuvwxyzabcdfgh"


# ---- expression trees (the TNS text and the Python reference) ----

class Access:
    """name[pos, ...]: a pos is ('idx', i), ('grp', [i, k, ...]) or
    ('expr', text, indices): an integer expression such as `2 * i + k + 1`
    or `i % 3` (the same text is valid Python once i is renamed)."""
    def __init__(self, name, pos):
        self.name, self.pos = name, pos


class Scalar:
    def __init__(self, name):
        self.name = name


class Const:
    def __init__(self, v):
        self.v = v


class Bin:
    def __init__(self, op, a, b, paren=False):
        self.op, self.a, self.b, self.paren = op, a, b, paren


class IndexVal:
    """f64(i): an index as a value"""
    def __init__(self, i):
        self.i = i


class Neg:
    def __init__(self, a):
        self.a = a


class Reduce:
    """op(idx...: body); implicit ones are not printed (Einstein rule)."""
    def __init__(self, op, idx, body, implicit=False):
        self.op, self.idx, self.body, self.implicit = op, idx, body, implicit


class Where:
    """where(i CMP j, a, b)"""
    def __init__(self, i, cmp, j, a, b):
        self.i, self.cmp, self.j, self.a, self.b = i, cmp, j, a, b


def children(n):
    if isinstance(n, Bin):
        return [n.a, n.b]
    if isinstance(n, (Neg, Reduce)):
        return [n.a if isinstance(n, Neg) else n.body]
    if isinstance(n, Where):
        return [n.a, n.b]
    return []


def own_indices(n):
    """Indices a node uses itself (not through its children)."""
    if isinstance(n, Access):
        out = []
        for p in n.pos:
            out += [p[1]] if p[0] == "idx" else p[1] if p[0] == "grp" else p[2]
        return out
    if isinstance(n, Where):
        return [n.i, n.j]
    if isinstance(n, IndexVal):
        return [n.i]
    return []


def pos_text(p):
    if p[0] == "idx":
        return p[1]
    if p[0] == "grp":
        return "(%s)" % ", ".join(p[1])
    return p[1]


def shifted(mul, i, k, off):
    """('expr', ...) for mul * i + k + off"""
    text = "%s + %s" % ("%d * %s" % (mul, i) if mul != 1 else i, k)
    if off:
        text += " + %d" % off
    return ("expr", text, [i, k])


def tns(n):
    """TNS source text of an expression."""
    if isinstance(n, Access):
        return "%s[%s]" % (n.name, ", ".join(pos_text(p) for p in n.pos))
    if isinstance(n, Scalar):
        return n.name
    if isinstance(n, IndexVal):
        return "f64(%s)" % n.i
    if isinstance(n, Const):
        return repr(n.v)
    if isinstance(n, Neg):
        return "-" + tns(n.a)
    if isinstance(n, Bin):
        a, b = tns(n.a), tns(n.b)
        if isinstance(n.b, Bin) and (n.b.paren or n.op in "*-" or n.b.op in "+-"):
            b = "(%s)" % b
        if isinstance(n.a, Bin) and (n.a.paren or (n.op == "*" and n.a.op in "+-")):
            a = "(%s)" % a
        return "%s %s %s" % (a, n.op, b)
    if isinstance(n, Reduce):
        if n.implicit:
            return tns(n.body)
        return "%s(%s: %s)" % (n.op, ", ".join(n.idx), tns(n.body))
    if isinstance(n, Where):
        return "where(%s %s %s, %s, %s)" % (n.i, n.cmp, n.j, tns(n.a), tns(n.b))
    raise TypeError(n)


def place_sums(tree, free):
    """Wraps each index that is neither free nor bound by an explicit
    reduction in an implicit sum at the smallest subtree holding its uses."""
    def uses(n, bound, acc, path):
        for i in own_indices(n):
            if i not in bound:
                acc.setdefault(i, []).append(path)
        nb = bound | set(n.idx) if isinstance(n, Reduce) else bound
        for k, c in enumerate(children(n)):
            uses(c, nb, acc, path + (k,))
    acc = {}
    uses(tree, set(free), acc, ())
    at = {}
    for i, paths in acc.items():
        common = paths[0]
        for p in paths[1:]:
            k = 0
            while k < min(len(common), len(p)) and common[k] == p[k]:
                k += 1
            common = common[:k]
        at.setdefault(common, []).append(i)

    def rebuild(n, path):
        if isinstance(n, Bin):
            n = Bin(n.op, rebuild(n.a, path + (0,)), rebuild(n.b, path + (1,)), n.paren)
        elif isinstance(n, Neg):
            n = Neg(rebuild(n.a, path + (0,)))
        elif isinstance(n, Reduce):
            n = Reduce(n.op, n.idx, rebuild(n.body, path + (0,)), n.implicit)
        elif isinstance(n, Where):
            n = Where(n.i, n.cmp, n.j, rebuild(n.a, path + (0,)), rebuild(n.b, path + (1,)))
        if path in at:
            n = Reduce("sum", sorted(at[path]), n, implicit=True)
        return n
    return rebuild(tree, ())


def py(n, sizes, shapes, ren):
    """Python expression text computing n; index i is the variable v_i
    (renamed through ren inside softmax's normaliser)."""
    def v(i):
        return "v_" + ren.get(i, i)
    if isinstance(n, Access):
        dims = shapes[n.name]
        terms, stride = [], 1
        for p, d in reversed(list(zip(n.pos, dims))):
            if p[0] == "idx":
                t = v(p[1])
            elif p[0] == "expr":
                t = "(%s)" % re.sub(r"\b[a-z]\b", lambda m: v(m.group(0)), p[1])
            else:
                t = v(p[1][0])
                for i in p[1][1:]:
                    t = "(%s * %d + %s)" % (t, sizes[i], v(i))
            terms.append("%s * %d" % (t, stride))
            stride *= d
        return "D[%r][%s]" % (n.name, " + ".join(terms) or "0")
    if isinstance(n, Scalar):
        return "D[%r][0]" % n.name
    if isinstance(n, IndexVal):
        return "float(%s)" % v(n.i)
    if isinstance(n, Const):
        return repr(n.v)
    if isinstance(n, Neg):
        return "(-%s)" % py(n.a, sizes, shapes, ren)
    if isinstance(n, Bin):
        return "(%s %s %s)" % (py(n.a, sizes, shapes, ren), n.op, py(n.b, sizes, shapes, ren))
    if isinstance(n, Where):
        return "(%s if %s %s %s else %s)" % (py(n.a, sizes, shapes, ren), v(n.i), n.cmp, v(n.j),
                                             py(n.b, sizes, shapes, ren))
    if isinstance(n, Reduce):
        return py_reduce(n, sizes, shapes, ren)
    raise TypeError(n)


def loops(idx, sizes, ren):
    return " ".join("for v_%s in range(%d)" % (ren.get(i, i), sizes[i]) for i in idx)


def py_reduce(n, sizes, shapes, ren):
    if n.op in ("sum", "max", "min"):
        body = py(n.body, sizes, shapes, ren)
        f = {"sum": "fsum", "max": "max", "min": "min"}[n.op]
        return "%s([%s %s])" % (f, body, loops(n.idx, sizes, ren))
    # softmax at the current position: exp(b - m) / sum(exp(b' - m))
    r2 = dict(ren)
    for i in n.idx:
        r2[i] = ren.get(i, i) + "_"
    other = py(n.body, sizes, shapes, r2)
    m = "max([%s %s])" % (other, loops(n.idx, sizes, r2))
    if n.op == "logsumexp":   # m + log(sum(exp(b - m)))
        body = py(n.body, sizes, shapes, ren)
        s = "fsum([exp(%s - m) %s])" % (body, loops(n.idx, sizes, ren))
        return "(lambda m: m + log(%s))(max([%s %s]))" % (s, body, loops(n.idx, sizes, ren))
    s = "fsum([exp(%s - m) %s])" % (other, loops(n.idx, sizes, r2))
    return "(lambda m: exp(%s - m) / %s)(%s)" % (py(n.body, sizes, shapes, ren), s, m)


# ---- statements ----

class Stmt:
    def __init__(self):
        self.name = ""
        self.lhs = []          # output positions: ('idx', i) or ('grp', [..])
        self.ranged = set()    # output indices given an explicit range
        self.tree = None
        self.sizes = {}
        self.operands = []     # (name, dims, seed)
        self.acc = None        # a second statement `name[...] += acc`
        self.deps = []         # earlier statements whose results it reads

    def free(self):
        out = []
        for p in self.lhs:
            out += [p[1]] if p[0] == "idx" else p[1]
        return out

    def text(self):
        def one(i):
            return "%s: %d" % (i, self.sizes[i]) if i in self.ranged else i
        pos = [one(p[1]) if p[0] == "idx" else "(%s)" % ", ".join(map(one, p[1])) for p in self.lhs]
        lhs = "%s[%s]" % (self.name, ", ".join(pos)) if pos else self.name
        return "%s = %s" % (lhs, tns(self.tree))

    def decls(self):
        out = []
        for name, dims, seed in self.operands:
            if seed is None:
                continue
            ty = "f64[%s]" % ", ".join(map(str, dims)) if dims else "f64"
            out.append("%s = randn(%s, %d)" % (name, ty, seed))
        return out

    def source(self):
        """Declarations, the statement, and the saves."""
        lines = self.decls() + [self.text()]
        if self.acc is not None:
            lines.append("%s[%s] += %s" % (self.name, ", ".join(self.free()), tns(self.acc)))
        lines += ['save("%s.npy", %s)' % (n, n) for n, _, seed in self.operands if seed is not None]
        lines.append('save("%s.npy", %s)' % (self.name, self.name))
        return lines

    def source_alone(self):
        """source() with the statements it depends on first."""
        lines = []
        for d in self.deps:
            lines += [x for x in d.source_alone() if x not in lines]
        return lines + self.source()

    def out_dims(self):
        return [self.sizes[p[1]] if p[0] == "idx" else math.prod(self.sizes[i] for i in p[1]) for p in self.lhs]

    def reference(self, data):
        """The expected result, row-major, from the operands' values."""
        shapes = {n: d for n, d, _ in self.operands}
        tree = place_sums(self.tree, self.free())
        body = py(tree, self.sizes, shapes, {})
        code = "[%s %s]" % (body, loops(self.free(), self.sizes, {}))
        if not self.free():
            code = "[%s]" % body
        env = {"D": data, "fsum": math.fsum, "exp": math.exp, "log": math.log, "inf": math.inf}
        ref = eval(code, env)
        if self.acc is not None:   # it may read the result before the +=
            env["D"] = dict(data, **{self.name: ref})
            shapes[self.name] = self.out_dims()
            acc = py(place_sums(self.acc, self.free()), self.sizes, shapes, {})
            code = "[%s %s]" % (acc, loops(self.free(), self.sizes, {}))
            ref = [x + y for x, y in zip(ref, eval(code, env))]
        return ref


class Gen:
    """Random statements; one Gen per program, seeded."""
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.seed = seed * 1000
        self.st = None
        self.results = []      # (name, dims, Stmt) of earlier statements

    def operand(self, dims, fresh=False):
        """A new randn operand of that shape, or (unless fresh) now and then
        an earlier statement's result of the same shape."""
        same = [(n, st) for n, d, st in self.results if d == list(dims) and not fresh]
        if same and self.r.random() < 0.3:
            name, st = self.r.choice(same)
            if st not in self.st.deps:
                self.st.deps.append(st)
            if name not in [o[0] for o in self.st.operands]:
                self.st.operands.append((name, list(dims), None))
            return name
        self.seed += 1
        name = "%s_%d" % (self.st.name.replace("R", "X"), len(self.st.operands))
        self.st.operands.append((name, list(dims), self.seed))
        return name

    def sizes(self, idx):
        s = {i: self.r.randint(1, 6) for i in idx}
        while math.prod(s.values()) > BUDGET:
            big = max(s, key=lambda i: s[i])
            s[big] -= 1
        self.st.sizes.update(s)

    def product(self, idx, nops, group_right=False):
        """A product of nops accesses (some scalar) using every index."""
        r = self.r
        slots = [[] for _ in range(nops)]
        for i in idx:
            r.choice([s for s in slots if len(s) < 4] or slots).append(i)
        for s in slots:
            while len(s) < 4 and r.random() < 0.35:
                pool = s if s and r.random() < 0.15 else idx
                s.insert(r.randrange(len(s) + 1), r.choice(pool))
        factors = []
        for s in slots:
            if not s:
                factors.append(Scalar(self.operand([])))
                continue
            pos = [("idx", i) for i in s]
            dims = [self.st.sizes[i] for i in s]
            g = r.choice([2, 2, 3])
            if group_right and len(s) >= g and len(set(s[:g])) == g and self.ranged_elsewhere(s, g, slots):
                group_right = False
                pos = [("grp", s[:g])] + pos[g:]
                dims = [math.prod(dims[:g])] + dims[g:]
            factors.append(Access(self.operand(dims), pos))
        if r.random() < 0.1:
            self.modulo(factors)
        if r.random() < 0.15:
            factors.insert(r.randrange(len(factors) + 1), Const(r.choice([2.0, 0.5, -1.5])))
        if r.random() < 0.1:
            factors.insert(r.randrange(len(factors) + 1), IndexVal(r.choice(idx)))
        return self.chain(factors)

    def modulo(self, factors):
        """One position i becomes `i % m` (i keeps a bare use elsewhere)."""
        bare = [(f, k) for f in factors if isinstance(f, Access) for k, p in enumerate(f.pos) if p[0] == "idx"]
        cands = [(f, k) for f, k in bare if sum(g.pos[j][1] == f.pos[k][1] for g, j in bare) > 1]
        if not cands:
            return
        f, k = self.r.choice(cands)
        m = self.r.randint(1, 3)
        for o in self.st.operands:
            if o[0] == f.name:
                if o[2] is None:   # an earlier result: its dimension is what it is
                    m = o[1][k]
                else:
                    o[1][k] = m
        f.pos[k] = ("expr", "%s %% %d" % (f.pos[k][1], m), [f.pos[k][1]])

    @staticmethod
    def ranged_elsewhere(s, g, slots):
        """Grouping s[:g] leaves at most one of them without a bare use
        (its size then follows from the dimension)."""
        rest = s[g:] + [i for t in slots if t is not s for i in t]
        return sum(i not in rest for i in s[:g]) <= 1

    def chain(self, factors):
        """Left-assoc product, sometimes with a parenthesised right part."""
        if len(factors) >= 3 and self.r.random() < 0.25:
            k = self.r.randrange(1, len(factors) - 1)
            return Bin("*", self.chain(factors[:k]), self.chain(factors[k:]), paren=True)
        t = factors[0]
        for f in factors[1:]:
            t = Bin("*", t, f)
        return t

    def pick(self, n, lo=1, hi=7):
        letters = list(LETTERS)
        self.r.shuffle(letters)
        return letters[:self.r.randint(lo, min(hi, n))]

    def lhs(self, idx, k):
        out = self.r.sample(idx, k)
        self.st.lhs = [("idx", i) for i in out]

    def einsum(self):
        r = self.r
        idx = self.pick(7)
        self.sizes(idx)
        self.lhs(idx, r.randint(0, min(4, len(idx))))
        t = self.product(idx, r.randint(2, 5), group_right=r.random() < 0.2)
        if r.random() < 0.15:
            t = Neg(t)
        self.st.tree = t

    def terms(self):
        """P + Q, P - Q, P + b[out]: sums of terms"""
        r = self.r
        idx = self.pick(6, 2)
        self.sizes(idx)
        self.lhs(idx, r.randint(1, min(3, len(idx))))
        p = self.product(idx, r.randint(2, 4))
        free = self.st.free()
        if r.random() < 0.5:   # b[i]-style: indices of the output only
            q_idx = r.sample(free, r.randint(1, len(free)))
            q = Access(self.operand([self.st.sizes[i] for i in q_idx]), [("idx", i) for i in q_idx])
        else:                  # another product over the output and some others
            q = self.product(sorted(set(free) | set(r.sample(idx, r.randint(0, len(idx))))), r.randint(1, 3))
        self.st.tree = Bin(r.choice("+-"), p, q) if r.random() < 0.7 else Bin("+", q, p)

    def reduce(self):
        """max/min/sum(j...: P), maybe + b[out]"""
        r = self.r
        idx = self.pick(6, 2)
        self.sizes(idx)
        self.lhs(idx, r.randint(0, min(3, len(idx) - 1)))
        free = self.st.free()
        rest = [i for i in idx if i not in free]
        red = r.sample(rest, r.randint(1, len(rest)))
        t = Reduce(r.choice(["max", "min", "sum"]), red, self.product(idx, r.randint(1, 4)))
        if free and r.random() < 0.3:
            b = Access(self.operand([self.st.sizes[i] for i in free]), [("idx", i) for i in free])
            t = Bin("+", t, b)
        self.st.tree = t

    def nested(self):
        """sum(a: max(b: X[q, a, c] * Y[p, b, c])) and the like"""
        r = self.r
        idx = self.pick(6, 3)
        self.sizes(idx)
        self.lhs(idx, r.randint(0, min(2, len(idx) - 2)))
        rest = [i for i in idx if i not in self.st.free()]
        outer = r.sample(rest, r.randint(1, len(rest) - 1))
        inner = r.sample([i for i in rest if i not in outer], 1)
        body = self.product(idx, r.randint(2, 3))
        ops = ["sum", "max", "min"]
        self.st.tree = Reduce(r.choice(ops), outer, Reduce(r.choice(ops + ["logsumexp"]), inner, body))

    def masked_softmax(self):
        """softmax(j: where(j <= i, S, -inf)): causal attention weights"""
        r = self.r
        i, j, *other = self.pick(4, 2)
        self.sizes([i, j] + other)
        self.lhs([i, j] + other, r.randint(2, 2 + len(other)))
        if i not in self.st.free() or j not in self.st.free():
            self.st.lhs = [("idx", i), ("idx", j)]
        s = self.product([i, j] + other, r.randint(1, 3))
        self.st.tree = Reduce("softmax", [j], Where(j, "<=", i, s, Const(-math.inf)))

    def softmax(self):
        r = self.r
        idx = self.pick(5, 1)
        self.sizes(idx)
        self.lhs(idx, r.randint(1, len(idx)))
        free = self.st.free()
        norm = r.sample(free, r.randint(1, min(2, len(free))))
        self.st.tree = Reduce("softmax", norm, self.product(idx, r.randint(1, 3)))

    def where(self):
        r = self.r
        idx = self.pick(6, 2)
        self.sizes(idx)
        self.lhs(idx, r.randint(1, min(3, len(idx))))
        i, j = r.sample(idx, 2)
        self.st.tree = Where(i, r.choice(["<=", "<", ">=", "!="]), j,
                             self.product(idx, r.randint(1, 3)), Const(0.0))
        if r.random() < 0.3:
            self.st.tree = Bin("*", self.st.tree, Scalar(self.operand([])))

    def shift(self):
        """R[i: n, ...] = X[2 * i + k + 1, ...] * W[k, ...] ...: convolutions
        (i ranged on the left, or by a bare use elsewhere)"""
        r = self.r
        i, k, *other = self.pick(4, 2)
        self.sizes([i, k] + other)
        sz = self.st.sizes
        bare = r.random() < 0.3
        self.st.lhs = [("idx", o) for o in other if r.random() < 0.6]
        if not bare or r.random() < 0.7:
            self.st.lhs.append(("idx", i))
        r.shuffle(self.st.lhs)
        self.st.ranged = set() if bare else {i}
        mul, off = r.choice([1, 1, 1, 2]), r.choice([0, 0, 1])
        pos = shifted(mul, i, k, off) if mul > 1 or r.random() < 0.7 else shifted(1, k, i, off)
        xo = [o for o in other if r.random() < 0.5]
        n = mul * (sz[i] - 1) + sz[k] + off + r.choice([0, 0, 1])
        x = Access(self.operand([n] + [sz[o] for o in xo]), [pos] + [("idx", o) for o in xo])
        wi = [k] + [o for o in other if o not in xo] + ([i] if bare else [])
        r.shuffle(wi)
        w = Access(self.operand([sz[a] for a in wi]), [("idx", a) for a in wi])
        self.st.tree = Bin("*", x, w) if r.random() < 0.5 else Bin("*", w, x)

    def matmul(self):
        """GEMM shapes: R[b, m, n] = A[b, m|k] * B[b, k|n] (times or divided
        by a factor): one library call at -O2"""
        r = self.r
        letters = self.pick(7, 7, 7)
        nb, nm, nn, nk = (r.randint(0, 1), r.randint(1, 2), r.randint(1, 2), r.randint(1, 2))
        b, m, n, k = (letters[:nb], letters[nb:nb + nm], letters[nb + nm:nb + nm + nn],
                      letters[nb + nm + nn:nb + nm + nn + nk])
        self.sizes(b + m + n + k)
        self.st.lhs = [("idx", i) for i in b + m + n]
        sa = b + (m + k if r.random() < 0.6 else k + m)
        sb = b + (k + n if r.random() < 0.6 else n + k)
        A = Access(self.operand([self.st.sizes[i] for i in sa]), [("idx", i) for i in sa])
        B = Access(self.operand([self.st.sizes[i] for i in sb]), [("idx", i) for i in sb])
        t = Bin("*", A, B) if r.random() < 0.7 else Bin("*", B, A)
        f = r.choice([None, None, Const(0.5), Scalar(self.operand([], fresh=True)), IndexVal(r.choice(b + m + n))])
        if f is not None:
            t = Bin(r.choice("*/") if not isinstance(f, IndexVal) else "*", t, f)
        self.st.tree = t

    def wide(self):
        """one explicit reduction over 17-20 indices (sizes 1-2)"""
        r = self.r
        idx = self.pick(24, 17, 20)
        self.st.sizes.update({i: 1 for i in idx})
        for i in r.sample(idx, 9):
            self.st.sizes[i] = 2
        keep = r.sample(idx, r.randint(0, 1))
        self.st.lhs = [("idx", i) for i in keep]
        body = self.product(idx, 5)
        self.st.tree = Reduce(r.choice(["sum", "max", "min"]), [i for i in idx if i not in keep], body)

    def split(self):
        """R[(a: n, b), ...] = x[(a, b), ...] * ...: a range on the left for an
        index that is only grouped on the right"""
        r = self.r
        a, b, *other = self.pick(4, 2)
        self.sizes([a, b] + other)
        sz = self.st.sizes
        x = Access(self.operand([sz[a] * sz[b]] + [sz[o] for o in other]),
                   [("grp", [a, b])] + [("idx", o) for o in other])
        self.st.ranged = {a}
        out = [o for o in other if r.random() < 0.6]
        self.st.lhs = [("grp", [a, b]) if r.random() < 0.5 else ("idx", a)] + [("idx", o) for o in out]
        if self.st.lhs[0][0] == "idx":
            self.st.lhs.insert(r.randint(0, len(self.st.lhs)), ("idx", b))
        y = Access(self.operand([sz[o] for o in other]), [("idx", o) for o in other]) if other else Const(2.0)
        self.st.tree = Bin("*", x, y)

    def group_left(self):
        """R[(i, k), j] = ...: output positions fusing indices"""
        self.einsum()
        free = self.st.free()
        if len(free) < 2:
            return
        lhs, k = [], 0
        while k < len(free):
            n = self.r.randint(1, min(3, len(free) - k))
            lhs.append(("idx", free[k]) if n == 1 else ("grp", free[k:k + n]))
            k += n
        self.st.lhs = lhs

    def statement(self, name):
        self.st = Stmt()
        self.st.name = name
        kinds = [(self.einsum, 30), (self.terms, 15), (self.reduce, 15), (self.softmax, 8),
                 (self.where, 10), (self.shift, 10), (self.group_left, 10), (self.nested, 8),
                 (self.masked_softmax, 4), (self.split, 5), (self.matmul, 10),
                 (self.wide, 2)]
        self.r.choices([k for k, _ in kinds], [w for _, w in kinds])[0]()
        if self.st.lhs and all(p[0] == "idx" for p in self.st.lhs) and not self.st.ranged \
                and self.r.random() < 0.12:
            self.accumulate()
        self.results.append((name, self.st.out_dims(), self.st))
        return self.st

    def accumulate(self):
        """R[i, j] += P: P over the output indices and maybe a new one"""
        idx = self.st.free()
        new = [c for c in LETTERS if c not in self.st.sizes][:self.r.randint(0, 1)]
        self.sizes(new)
        self.st.acc = self.product(idx + new, self.r.randint(1, 3))
        if self.r.random() < 0.4:   # R[i, j] += R[j, i] * ...: reads the old R
            perm = self.r.sample(idx, len(idx))
            if any(self.st.sizes[a] != self.st.sizes[b] for a, b in zip(idx, perm)):
                perm = idx
            self.st.acc = Bin("*", Access(self.st.name, [("idx", i) for i in perm]), self.st.acc)


def make_programs(seed, nprog, per):
    progs = []
    for p in range(nprog):
        g = Gen(seed + p)
        progs.append([g.statement("R%d_%d" % (p, s)) for s in range(per)])
    return progs


# ---- running ----

def run_tns(tnsc, lines, level, d):
    """Writes and runs a program in d; None or an error line."""
    src = os.path.join(d, "prog.tns")
    with open(src, "w") as f:
        f.write("\n".join(lines) + "\n")
    try:
        p = subprocess.run([tnsc, "run", level, src], cwd=d, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "timed out after %d s" % TIMEOUT
    except OSError as e:
        return "cannot run: %s" % e
    if p.returncode < 0:
        return "killed by signal %d" % -p.returncode
    if p.returncode != 0:
        return "exit %d: %s" % (p.returncode, (p.stderr.strip().splitlines() or ["(no message)"])[0])
    return None


def close(a, b, rtol, atol):
    """a within tolerance of b; infinities equal, NaN equal to NaN"""
    return a == b or (a != a and b != b) or abs(a - b) <= atol + rtol * abs(b)


def check_stmt(st, dirs):
    """None when st's results agree at both levels and with Python."""
    try:
        outs = [read_npy(os.path.join(d, st.name + ".npy")) for d in dirs]
        data = {n: read_npy(os.path.join(dirs[0], n + ".npy"))[1] for n, _, _ in st.operands}
    except (OSError, ValueError, SyntaxError, KeyError) as e:
        return "bad .npy: %s" % e
    (d0, v0), (d2, v2) = outs
    if d0 != d2 or len(v0) != len(v2):
        return "shape %s at -O0, %s at -O2" % (d0, d2)
    for k, (a, b) in enumerate(zip(v0, v2)):
        if not close(b, a, RTOL, ATOL):
            return "-O0 and -O2 differ at element %d: %r vs %r" % (k, a, b)
    ref = st.reference(data)
    if len(ref) != len(v0):
        return "%d elements, expected %d" % (len(v0), len(ref))
    scale = max([abs(x) for x in ref if math.isfinite(x)] + [1.0])
    for k, (a, e) in enumerate(zip(v0, ref)):
        if not close(a, e, RTOL, 1e-11 * scale):
            return "element %d is %r, reference %r" % (k, a, e)
    return None


def run_program(tnsc, stmts, keep):
    """[(stmt, None | failure)] for one program."""
    lines = []
    for st in stmts:
        lines += st.source()
    dirs = [tempfile.mkdtemp(prefix="tns_rand_") for _ in range(2)]
    try:
        errs = [run_tns(tnsc, lines, lv, d) for lv, d in zip(("-O0", "-O2"), dirs)]
        if not any(errs):
            return [(st, check_stmt(st, dirs)) for st in stmts]
        out = []   # retry one statement at a time to name the culprits
        for st in stmts:
            e = [run_tns(tnsc, st.source_alone(), lv, d) for lv, d in zip(("-O0", "-O2"), dirs)]
            why = None
            if any(e):
                why = "; ".join("%s %s" % (lv, x) for lv, x in zip(("-O0", "-O2"), e) if x)
                if keep:
                    with open(os.path.join(keep, st.name + ".tns"), "w") as f:
                        f.write("\n".join(st.source_alone()) + "\n")
            out.append((st, why or check_stmt(st, dirs)))
        return out
    finally:
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


def option(args, name, default, conv=int):
    if name in args:
        k = args.index(name)
        v = conv(args[k + 1])
        del args[k:k + 2]
        return v
    return default


def main(argv):
    args = argv[1:]
    if not args:
        print("usage: random_einsum.py TNSC [-j N] [--programs N] [--seed S] [--keep DIR]", file=sys.stderr)
        return 2
    jobs = option(args, "-j", os.cpu_count() or 2)
    nprog = option(args, "--programs", PROGRAMS)
    seed = option(args, "--seed", SEED)
    keep = option(args, "--keep", None, str)
    if keep:
        os.makedirs(keep, exist_ok=True)
    tnsc = os.path.abspath(args[0])
    progs = make_programs(seed, nprog, PER_PROGRAM)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda p: run_program(tnsc, p, keep), progs))
    passed = failed = 0
    for res in results:
        for st, why in res:
            if why is None:
                passed += 1
                continue
            failed += 1
            print("FAIL %s: %s\n  %s" % (st.name, why, st.text()))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

// Vector primitives over raw pointers, in 8-float SIMD steps. Lengths are multiples of 8
// (ModelConfig.validate guarantees it). Reductions use two SIMD accumulators: a plain
// Float loop would be summed in order, one lane at a time (see STACK.md, numerics).

typealias Vec8 = SIMD8<Float>

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> Vec8 {
    UnsafeRawPointer(p).loadUnaligned(as: Vec8.self)
}

@inline(__always) func store8(_ v: Vec8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec8.self)
}

@inline(__always) func horizontalSum(_ v: Vec8) -> Float {
    let a = v.lowHalf + v.highHalf
    let b = a.lowHalf + a.highHalf
    return b[0] + b[1]
}

/// a . b over n floats.
@inline(__always) func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = Vec8(), acc1 = Vec8()
    var i = 0
    while i + 16 <= n {
        acc0 += load8(a + i) * load8(b + i)
        acc1 += load8(a + i + 8) * load8(b + i + 8)
        i += 16
    }
    if i < n { acc0 += load8(a + i) * load8(b + i) }
    return horizontalSum(acc0 + acc1)
}

/// y += alpha * x over n floats.
@inline(__always) func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let a = Vec8(repeating: alpha)
    var i = 0
    while i < n {
        store8(load8(y + i) + a * load8(x + i), y + i)
        i += 8
    }
}

/// y += x over n floats; n may be any length (whole parameter buffers are summed with it).
@inline(__always) func add(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    while i + 8 <= n {
        store8(load8(y + i) + load8(x + i), y + i)
        i += 8
    }
    while i < n {
        y[i] += x[i]
        i += 1
    }
}

/// out = a * b, elementwise, over n floats.
@inline(__always) func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    while i < n {
        store8(load8(a + i) * load8(b + i), out + i)
        i += 8
    }
}

/// y += a * b, elementwise, over n floats.
@inline(__always) func addProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    while i < n {
        store8(load8(y + i) + load8(a + i) * load8(b + i), y + i)
        i += 8
    }
}

@inline(__always) func copy(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    y.update(from: x, count: n)
}

@inline(__always) func zero(_ y: UnsafeMutablePointer<Float>, _ n: Int) {
    y.update(repeating: 0, count: n)
}

/// The sum of the squares of n floats (any n).
@inline(__always) func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = Vec8(), acc1 = Vec8()
    var i = 0
    while i + 16 <= n {
        let a = load8(x + i), b = load8(x + i + 8)
        acc0 += a * a
        acc1 += b * b
        i += 16
    }
    var total = horizontalSum(acc0 + acc1)
    while i < n {
        total += x[i] * x[i]
        i += 1
    }
    return total
}

/// y += alpha * x, then x = 0, over n floats (any n): one pass instead of two.
@inline(__always) func addScaledAndClear(_ alpha: Float, _ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let a = Vec8(repeating: alpha)
    var i = 0
    while i + 8 <= n {
        store8(load8(y + i) + a * load8(x + i), y + i)
        store8(Vec8(), x + i)
        i += 8
    }
    while i < n {
        y[i] += alpha * x[i]
        x[i] = 0
        i += 1
    }
}

/// y += M^T x, with M given as its `n` rows of `width` floats (width a multiple of 8):
/// y += sum_j x[j] M[j, :]. The sums are kept in registers, 32 floats at a time, so no
/// horizontal sum is needed: what a matrix-vector product costs with the matrix transposed.
@inline(__always) func addTransposedProduct(
    _ x: UnsafePointer<Float>, _ n: Int, _ m: UnsafePointer<Float>, _ width: Int, _ y: UnsafeMutablePointer<Float>
) {
    var c = 0
    while c + 32 <= width {
        var a0 = load8(y + c), a1 = load8(y + c + 8), a2 = load8(y + c + 16), a3 = load8(y + c + 24)
        var row = m + c
        for j in 0..<n {
            let xj = Vec8(repeating: x[j])
            a0 += xj * load8(row)
            a1 += xj * load8(row + 8)
            a2 += xj * load8(row + 16)
            a3 += xj * load8(row + 24)
            row += width
        }
        store8(a0, y + c)
        store8(a1, y + c + 8)
        store8(a2, y + c + 16)
        store8(a3, y + c + 24)
        c += 32
    }
    while c < width {
        var a0 = load8(y + c)
        var row = m + c
        for j in 0..<n {
            a0 += Vec8(repeating: x[j]) * load8(row)
            row += width
        }
        store8(a0, y + c)
        c += 8
    }
}

/// out = M^T, for M of `rows` x `columns` floats, row-major.
@inline(__always) func transpose(_ m: UnsafePointer<Float>, rows: Int, columns: Int, _ out: UnsafeMutablePointer<Float>) {
    for i in 0..<rows {
        for j in 0..<columns { out[j * rows + i] = m[i * columns + j] }
    }
}

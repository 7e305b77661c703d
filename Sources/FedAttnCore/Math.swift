import RealModule

// Thin wrappers so that files which only need a log or an exp do not each import RealModule.
@inline(__always) func _log(_ x: Double) -> Double { Double.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Double.cos(x) }
@inline(__always) func _pow(_ x: Double, _ y: Double) -> Double { Double.pow(x, y) }

import RealModule

@inline(__always) func _pow(_ x: Double, _ y: Double) -> Double { Double.pow(x, y) }

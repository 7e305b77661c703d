import ArgumentParser
public import Foundation

/// A `--config` file: one JSON object whose keys are flags' names in snake case (`"port"`,
/// `"min_clients"`). What the commands that read one share: its bytes, the keys it holds, a
/// refusal of any key no part of the command knows (a misspelt key would silently run a
/// default), and a value of the wrong kind named by its key. Every error names the file.
public enum ConfigFile {
    /// The file's bytes.
    /// - Throws: `ValidationError` naming the file when it cannot be read.
    public static func read(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(path): cannot read the config file") }
        return data
    }

    /// The keys at the file's top level.
    /// - Throws: `ValidationError` naming the file when its top level is not a JSON object.
    public static func keys(_ data: Data, of path: String) throws -> Set<String> {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ValidationError("\(path): not a valid config file: the top level must be an object")
        }
        return Set(object.keys)
    }

    /// Refuses a file holding a key that is not in `known`, naming each such key and every
    /// setting the file may hold.
    /// - Throws: `ValidationError` naming the file.
    public static func refuseUnknownKeys(_ data: Data, of path: String, known: Set<String>) throws {
        let unknown = try keys(data, of: path).subtracting(known).sorted()
        guard unknown.isEmpty else {
            throw ValidationError(
                "\(path): unknown setting\(unknown.count == 1 ? "" : "s") \(unknown.map { "'\($0)'" }.joined(separator: ", ")); the settings are "
                    + known.sorted().joined(separator: ", "))
        }
    }

    /// The file decoded as `T`, whose coding keys are the file's own (snake case) and whose
    /// properties are all optional: keys it does not know are passed over.
    /// - Throws: `ValidationError` naming the file and the key whose value is of the wrong kind
    ///   (`serve.json: port must be a whole number`), or what else is wrong with the file.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, of path: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch DecodingError.typeMismatch(let expected, let context) {
            throw ValidationError("\(path): \(key(context)) must be \(kind(expected))")
        } catch DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty {
            throw ValidationError("\(path): \(key(context)): \(context.debugDescription)")
        } catch {
            throw ValidationError("\(path): not a valid config file: \(error)")
        }
    }

    /// The key a decoding error is about.
    private static func key(_ context: DecodingError.Context) -> String {
        context.codingPath.map(\.stringValue).joined(separator: ".")
    }

    /// What a value of `type` is written as, for an error.
    private static func kind(_ type: Any.Type) -> String {
        if type == Int.self || type == UInt64.self { return "a whole number" }
        if type == Double.self || type == Float.self { return "a number" }
        if type == Bool.self { return "true or false" }
        if type == String.self { return "a string (in double quotes)" }
        return "a \(type)"
    }
}

// ElementRemoval.swift
//
// Removes selected elements from a resource and prunes what their removal leaves invalid.
//
// Rules (FHIR JSON, R4):
//  * A removed primitive takes its `_name` companion (id/extension) with it; in arrays of
//    primitives the value array and the `_name` array stay aligned (the same index is removed
//    from both; a companion array left with only nulls is dropped).
//  * An object that loses members and is left empty, or with only an `id`, is removed
//    (ele-1: an element must have a value or children other than `id`); an array left empty
//    is removed. This repeats upwards.
//  * An extension (an item of an `extension` or `modifierExtension` array) that loses members
//    and is left with neither a `value[x]` nor a nested `extension` — only `url`/`id` — is
//    removed as a whole (ext-1: an extension has either a value or extensions). A
//    modifierExtension is removed by the same rule: one without a value is invalid anyway.
//  * Only objects and arrays on the way to a removed element are pruned; everything else,
//    member order and number literals included, is kept as stored. The resource itself is
//    never removed.
//  * The model tables carry no cardinalities, so a required element left without its
//    required children (e.g. `Coverage.costToBeneficiary` without `value[x]` when only the
//    value is omitted) is kept; omit the parent element to drop it.

enum ElementRemoval {
    /// The locations to remove, as a tree.
    final class Tree {
        var removeSelf = false
        var keys: [String: Tree] = [:]
        var indices: [Int: Tree] = [:]

        func insert(_ location: ArraySlice<JSONPathComponent>) {
            if removeSelf { return }
            guard let first = location.first else {
                removeSelf = true
                keys = [:]
                indices = [:]
                return
            }
            let child: Tree
            switch first {
            case .key(let k):
                if let existing = keys[k] { child = existing } else { child = Tree(); keys[k] = child }
            case .index(let i):
                if let existing = indices[i] { child = existing } else { child = Tree(); indices[i] = child }
            }
            child.insert(location.dropFirst())
        }
    }

    /// Removes the elements at `locations` (locations of the resource itself are ignored) and
    /// prunes; returns whether anything changed.
    static func remove(_ locations: [[JSONPathComponent]], from resource: inout JSONObject) -> Bool {
        let tree = Tree()
        var any = false
        for location in locations where !location.isEmpty {
            tree.insert(location[...])
            any = true
        }
        guard any else { return false }
        var changed = false
        resource = apply(tree, to: resource, isExtension: false, changed: &changed)
        return changed
    }

    private static func baseName(_ key: String) -> String {
        key.hasPrefix("_") ? String(key.dropFirst()) : key
    }

    /// Applies the removals below `tree` to `object`.
    private static func apply(_ tree: Tree, to object: JSONObject, isExtension: Bool, changed: inout Bool) -> JSONObject {
        var object = object
        var removeWhole = Set<String>()          // base names: remove `name` and `_name`
        var removeIndices: [String: Set<Int>] = [:] // base name → indices to remove from both arrays
        var touched = Set<String>()

        for (key, sub) in tree.keys.sorted(by: { $0.key < $1.key }) {
            guard let value = object[key] else { continue }
            let base = baseName(key)
            let isCompanion = key.hasPrefix("_")
            touched.insert(base)
            if sub.removeSelf {
                removeWhole.insert(base)
                continue
            }
            switch value {
            case .array(var items):
                let itemsAreExtensions = key == "extension" || key == "modifierExtension"
                for (i, itemTree) in sub.indices.sorted(by: { $0.key < $1.key }) where items.indices.contains(i) {
                    if itemTree.removeSelf {
                        removeIndices[base, default: []].insert(i)
                        continue
                    }
                    guard case .object(let item) = items[i] else { continue }
                    let newItem = apply(itemTree, to: item, isExtension: itemsAreExtensions, changed: &changed)
                    if isPrunable(newItem, isExtension: itemsAreExtensions) {
                        if isCompanion, let values = object[base]?.arrayValue, values.indices.contains(i), !values[i].isNull {
                            // Only the companion is empty now: keep the value, null the slot.
                            items[i] = .null
                            changed = true
                        } else {
                            removeIndices[base, default: []].insert(i)
                        }
                    } else {
                        items[i] = .object(newItem)
                    }
                }
                object[key] = .array(items)
            case .object(let child):
                let newChild = apply(sub, to: child, isExtension: false, changed: &changed)
                if isPrunable(newChild, isExtension: false) {
                    if isCompanion, let v = object[base], !v.isNull {
                        object.removeValue(forKey: key)
                        changed = true
                    } else {
                        removeWhole.insert(base)
                    }
                } else {
                    object[key] = .object(newChild)
                }
            default:
                break // nothing below a primitive
            }
        }

        for base in removeWhole {
            if object.removeValue(forKey: base) != nil { changed = true }
            if object.removeValue(forKey: "_" + base) != nil { changed = true }
        }
        for (base, indices) in removeIndices where !removeWhole.contains(base) {
            for key in [base, "_" + base] {
                guard case .array(let items)? = object[key] else { continue }
                var kept: [JSONValue] = []
                kept.reserveCapacity(items.count)
                for (i, item) in items.enumerated() {
                    if indices.contains(i) { changed = true } else { kept.append(item) }
                }
                object[key] = .array(kept)
            }
        }
        // Arrays left empty (or, for companions, with only nulls) go; a value array left with
        // only nulls goes too when its companion array went.
        for base in touched {
            for key in ["_" + base, base] {
                guard case .array(let items)? = object[key] else { continue }
                if items.isEmpty || items.allSatisfy(\.isNull) {
                    object.removeValue(forKey: key)
                    changed = true
                }
            }
        }
        return object
    }

    /// Whether an object that lost members must go (see the rules above).
    static func isPrunable(_ object: JSONObject, isExtension: Bool) -> Bool {
        if object.isEmpty { return true }
        if object.count == 1 && object.contains(key: "id") { return true }
        if isExtension {
            for (key, _) in object {
                let name = baseName(key)
                if name == "extension" { return false }
                if name.hasPrefix("value"), let c = name.unicodeScalars.dropFirst(5).first, c >= "A" && c <= "Z" { return false }
            }
            return true
        }
        return false
    }
}

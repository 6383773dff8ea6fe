// ByteKeyTable.swift
//
// Property names to their ids, looked up straight from JSON bytes: the streaming redaction
// meets every key of a resource, and making a String of each would cost more than the walk.
// Open addressing over FNV-1a hashes; the names are stored once, back to back.

struct ByteKeyTable: Sendable {
    private let bytes: [UInt8]
    /// Per slot: the name's start in `bytes`, its length and its id; length -1 marks a free slot.
    private let slots: [(start: Int32, length: Int32, id: Int32)]
    private let mask: Int

    /// `names[i]` gets id `i`; empty names are left out.
    init(_ names: [String]) {
        var capacity = 16
        while capacity < names.count * 2 { capacity <<= 1 }
        var bytes: [UInt8] = []
        var slots = [(start: Int32, length: Int32, id: Int32)](repeating: (0, -1, 0), count: capacity)
        for (id, name) in names.enumerated() where !name.isEmpty {
            let start = bytes.count
            bytes.append(contentsOf: name.utf8)
            let utf8 = bytes[start...]
            var slot = Self.hash(utf8) & (capacity - 1)
            while slots[slot].length >= 0 { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = (Int32(start), Int32(utf8.count), Int32(id))
        }
        self.bytes = bytes
        self.slots = slots
        mask = capacity - 1
    }

    @inline(__always)
    private static func hash<C: Collection>(_ name: C) -> Int where C.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return Int(truncatingIfNeeded: h)
    }

    @inline(__always)
    private static func equal(_ stored: UnsafeBufferPointer<UInt8>, _ start: Int, _ name: UnsafeRawBufferPointer) -> Bool {
        for i in 0..<name.count where stored[start + i] != name[i] { return false }
        return true
    }

    /// The id of the name spelled by these bytes, if it is in the table.
    func id(of name: UnsafeRawBufferPointer) -> Int? {
        var slot = Self.hash(name) & mask
        return bytes.withUnsafeBufferPointer { stored in
            while true {
                let entry = slots[slot]
                if entry.length < 0 { return nil }
                if Int(entry.length) == name.count, Self.equal(stored, Int(entry.start), name) {
                    return Int(entry.id)
                }
                slot = (slot + 1) & mask
            }
        }
    }
}

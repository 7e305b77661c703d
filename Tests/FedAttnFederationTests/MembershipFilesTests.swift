import FedAttnFederation
import Foundation
import Testing
import _FedAttnTestSupport

/// The membership files an operator edits while the federation runs: the allow-list
/// (`members.txt`), the revocation list (`revoked.txt`), the record of issued certificates
/// (`issued.txt`), as they are read, edited and re-read.
struct MembershipFilesTests {
    @Test func aSerialIsOneNumberHoweverItIsWritten() throws {
        let serial = try #require(CertificateSerial("3a:f2:07"))
        for spelling in ["3A:F2:07", "00:3a:f2:07", "3af207", "0x3AF207", "003af207", "3a:f2:7"] {
            #expect(CertificateSerial(spelling) == serial, "\(spelling)")
        }
        #expect(CertificateSerial(bytes: [0, 0x3a, 0xf2, 0x07]) == serial)
        #expect(serial.description == "3a:f2:07")
        #expect(CertificateSerial("a") == CertificateSerial(bytes: [0x0a]))
        for bad in ["", "0", "00:00", "3a::f2", "3a:f2:", "123:45", "xyz", "3a f2", "0x"] {
            #expect(CertificateSerial(bad) == nil, "\(bad)")
        }
    }

    @Test func theAllowListReadsNamesAndSkipsCommentsAndBlankLines() throws {
        let text = "# silos\r\nshop\n\n  video   # the video team\nshop\n"
        let list = try MemberList(text: text, file: "members.txt")
        #expect(list.names == ["shop", "video"])
        #expect(list.contains("video") && !list.contains("news"))
        // An edit keeps the operator's comments and order.
        var edited = list
        edited.add("news")
        let removed = edited.remove("shop"), again = edited.remove("shop")
        #expect(removed && !again)
        #expect(edited.text == "# silos\n\n  video   # the video team\nnews\n")
        #expect(try MemberList(text: edited.text, file: "members.txt").names == ["video", "news"])
    }

    @Test func aLineThatIsNotASiloNameIsNamedByFileAndLine() {
        let error = #expect(throws: MembershipError.self) { try MemberList(text: "shop\n# ok\nShop\n", file: "fed/members.txt") }
        #expect(error?.description.hasPrefix("fed/members.txt:3: \"Shop\" is not a silo name: ") == true, "\(String(describing: error))")
        let notText = #expect(throws: MembershipError.self) { try MemberList(Data([0xff, 0xfe, 0x00]), file: "fed/members.txt") }
        #expect(notText?.description == "fed/members.txt: cannot read it (it is not UTF-8 text)")
    }

    @Test func theRevocationListReadsASerialAndASiloALine() throws {
        let ledger = try CertificateLedger(text: "# revoked\n3a:f2 shop # removed 2026-01-01\n\n0x07 video 2027-01-01 sign\n", file: "revoked.txt")
        #expect(ledger.entries.map(\.name) == ["shop", "video"])
        #expect(ledger.bySerial == [CertificateSerial("3af2")!: "shop", CertificateSerial("07")!: "video"])
        #expect(ledger.serials(of: "shop") == [CertificateSerial("3a:f2")!])
        for (text, why) in [
            ("zz shop\n", "revoked.txt:1: \"zz\" is not a certificate serial"),
            ("# a\n3a:f2\n", "revoked.txt:2: serial 3a:f2 names no silo"),
            ("3a:f2 ../shop\n", "revoked.txt:1: \"../shop\" is not a silo name"),
        ] {
            let error = #expect(throws: MembershipError.self) { try CertificateLedger(text: text, file: "revoked.txt") }
            #expect(error?.description.hasPrefix(why) == true, "\(String(describing: error))")
        }
    }

    /// A federation provisioned before the allow-list (kits, no lists) gets one listing its
    /// kits; a silo admitted is listed and its certificate recorded; removed, every
    /// certificate of it is revoked (recorded, and its kit's), and it is off the list.
    @Test func aFolderAdmitsAndRemovesASilo() throws {
        let folder = FederationFolder(try Fixtures.temporaryFolder())
        for name in ["shop", "video"] {
            try FileManager.default.createDirectory(atPath: folder.kit(name), withIntermediateDirectories: true)
            try Data("certificate".utf8).write(to: URL(fileURLWithPath: folder.kit(name) + "/cert.pem"))
        }
        try folder.prepareLists()
        #expect(try folder.memberList()?.names == ["shop", "video"])
        #expect(try folder.revocationList()?.entries == [])

        let first = try #require(CertificateSerial("01:aa")), second = try #require(CertificateSerial("02:bb"))
        let kits = try #require(CertificateSerial("03:cc"))
        #expect(try folder.admit("news", serial: first, validUntil: Date(), how: "sign") == false)
        #expect(try folder.admit("news", serial: second, validUntil: Date(), how: "sign") == true)
        #expect(try folder.memberList()?.names == ["shop", "video", "news"])

        let removal = try folder.remove("news", kitCertificates: [kits, first])
        #expect(removal == FederationFolder.Removal(wasListed: true, revoked: [first, second, kits], alreadyRevoked: []))
        #expect(try folder.memberList()?.names == ["shop", "video"])
        #expect(try folder.revocationList()?.bySerial == [first: "news", second: "news", kits: "news"])
        // Again: nothing listed, every certificate revoked already.
        let again = try folder.remove("news")
        #expect(again == FederationFolder.Removal(wasListed: false, revoked: [], alreadyRevoked: [first, second]))

        let unknown = #expect(throws: MembershipError.self) { try folder.remove("ghost") }
        #expect(unknown == MembershipError.unknownSilo(name: "ghost", folder: folder.path))
    }

    /// A folder inside a federation's folder (its silos/, say) is named with the federation it
    /// lies in: provision refuses to make a second CA there.
    @Test func aFolderInsideAFederationIsFound() throws {
        let root = try Fixtures.temporaryFolder()
        let folder = FederationFolder(root + "/fed")
        try FileManager.default.createDirectory(atPath: folder.path + "/ca", withIntermediateDirectories: true)
        try Data("ca".utf8).write(to: URL(fileURLWithPath: folder.caCertificateFile))
        #expect(FederationFolder.enclosing(folder.path + "/silos")?.path == folder.path)
        #expect(FederationFolder.enclosing(folder.path + "/silos/new/deeper")?.path == folder.path)
        #expect(FederationFolder.enclosing(folder.path) == nil)
        #expect(FederationFolder.enclosing(root + "/other") == nil)
    }

    /// The lists are re-read at the check after a rewrite: a silo listed since is admitted, one
    /// taken off refused, a revoked serial refused whatever the name; a file made unreadable
    /// or malformed keeps the lists read before, and says so once.
    @Test func membershipFollowsTheFilesAsTheyChange() throws {
        let folder = try Fixtures.temporaryFolder()
        let members = folder + "/members.txt", revoked = folder + "/revoked.txt"
        try "shop\n".write(toFile: members, atomically: true, encoding: .utf8)
        let lines = LogLines()
        let membership = try Membership(membersFile: members, revokedFile: revoked, logger: lines.logger)
        let serial = try #require(CertificateSerial("5e:ed"))
        #expect(membership.refusal(name: "shop", serial: serial) == nil)
        #expect(membership.refusal(name: "video", serial: nil)?.description == "silo 'video' is not a member of this federation (\(members))")

        try "shop\nvideo\n".write(toFile: members, atomically: true, encoding: .utf8)
        #expect(membership.refusal(name: "video", serial: nil) == nil)
        #expect(lines.all.contains("\(members) re-read: 2 silos admitted (added 'video')"), "\(lines.all)")

        try "5e:ed shop # removed\n".write(toFile: revoked, atomically: true, encoding: .utf8)
        let refusal = try #require(membership.refusal(name: "shop", serial: serial))
        #expect(refusal.isRevocation)
        #expect(refusal.description == "the certificate presented by silo 'shop' (serial 5e:ed) is revoked (\(revoked))")
        #expect(membership.revocation(of: serial, presentedBy: "shop") == refusal)
        #expect(membership.refusal(name: "shop", serial: CertificateSerial("5e:ee")) == nil)

        try "video\nNot A Name\n".write(toFile: members, atomically: true, encoding: .utf8)
        #expect(membership.refusal(name: "shop", serial: nil) == nil, "the list read before stays in force")
        #expect(membership.refusal(name: "shop", serial: nil) == nil)
        let complaints = lines.all.filter { $0.contains("\(members):2: \"Not A Name\" is not a silo name") }
        #expect(complaints.count == 1, "said once: \(lines.all)")
        #expect(complaints.first?.contains("the 2 silos read before stay admitted until it is mended") == true)
    }

    @Test func servingWithoutAnAllowListSaysSoAndAMissingListIsNamed() throws {
        let folder = try Fixtures.temporaryFolder()
        let withoutList = try Membership(membersFile: nil, revokedFile: folder + "/revoked.txt", logger: LogLines().logger)
        #expect(withoutList.refusal(name: "anyone", serial: CertificateSerial("01")) == nil)
        #expect(withoutList.summary.contains("no allow-list (--members): every silo whose certificate the federation CA signed is admitted"))
        #expect(withoutList.summary.contains("0 certificates are revoked in \(folder)/revoked.txt (no such file yet)"), "\(withoutList.summary)")
        let missing = #expect(throws: MembershipError.self) {
            _ = try Membership(membersFile: folder + "/members.txt", revokedFile: nil, logger: LogLines().logger)
        }
        #expect(missing?.description.hasPrefix("\(folder)/members.txt: cannot read it (there is no such file") == true)
    }
}

import TaskModel
import XML

/// The resources of `/dav/` as PROPFIND and REPORT describe them (Addendum v2.2 §14.1).
enum DAVTarget {
    case root
    case principal
    case home
    /// The calendar, with its sync token when the request asks for it (reading it costs a query).
    case calendar(syncToken: String?)
    /// One task, as a row (valid while the caller's read lasts).
    case object(TaskRow)
}

/// An object's calendar text as one response has made it so far: whole when a filter or its
/// length needed it, or only its length once written straight into the document, so that
/// neither property makes it twice.
struct DAVObjectText {
    var text: [UInt8]?
    var length: Int?
}

/// The properties of each resource: their values as raw XML, nil for one the resource has not.
enum DAVProperties {
    /// What `allprop` (and `propname`) lists for each kind of resource: never `calendar-data`.
    static func all(_ target: DAVTarget) -> [DAVPropertyName] {
        switch target {
        case .root: return [.resourceType, .currentUserPrincipal]
        case .principal: return [.resourceType, .displayName, .currentUserPrincipal, .principalURL, .calendarHomeSet]
        case .home: return [.resourceType, .displayName, .currentUserPrincipal, .owner]
        case .calendar:
            return [.resourceType, .displayName, .currentUserPrincipal, .owner, .supportedComponents, .supportedCalendarData,
                    .maxResourceSize, .supportedReportSet, .currentUserPrivilegeSet, .syncToken, .getCTag]
        case .object: return [.resourceType, .getETag, .getContentType, .getContentLength, .getLastModified]
        }
    }

    /// Whether `request` asks for an object's calendar text (or its length).
    static func asksForObjectText(_ request: DAVPropertyRequest) -> Bool {
        switch request {
        case .all: return true
        case .names: return false
        case .some(let names): return names.contains(.calendarData) || names.contains(.getContentLength)
        }
    }

    /// Whether `request` asks for the calendar's sync token (or its ctag, the same).
    static func asksForSyncToken(_ request: DAVPropertyRequest) -> Bool {
        switch request {
        case .all: return true
        case .names: return false
        case .some(let names): return names.contains(.syncToken) || names.contains(.getCTag)
        }
    }

    /// Appends the value of `name` on `target` for `user` (XML) to `output`; false when the
    /// target has no such property. An object's calendar text is written straight into the
    /// document and escaped there, unless the caller made it already (`object.text`); its
    /// length is the one written, or the text made once into `object.text`.
    static func write(_ name: DAVPropertyName, of target: DAVTarget, user: [UInt8], object: inout DAVObjectText,
                      to output: inout [UInt8]) -> Bool {
        if case .object(let task) = target {
            switch name {
            case .getETag:
                XMLEscaping.append(EntityTags.tag(version: task.version).utf8, to: &output)
                return true
            case .calendarData:
                if let text = object.text {
                    XMLEscaping.append(text, to: &output)
                } else {
                    let start = output.count
                    VTODOWriter.append(task, to: &output)
                    object.length = output.count - start
                    XMLEscaping.escapeAppended(&output, from: start)
                }
                return true
            case .getContentLength:
                let length: Int
                if let known = object.length {
                    length = known
                } else {
                    let text = VTODOWriter.write(task)
                    object = DAVObjectText(text: text, length: text.count)
                    length = text.count
                }
                output.append(contentsOf: String(length).utf8)
                return true
            default:
                break
            }
        }
        guard let xml = xmlValue(name, of: target, user: user) else { return false }
        output.append(contentsOf: xml.utf8)
        return true
    }

    /// The value of every property but an object's calendar text, as raw XML.
    private static func xmlValue(_ name: DAVPropertyName, of target: DAVTarget, user: [UInt8]) -> String? {
        let href = { (path: String) in "<D:href>\(XMLEscaping.escape(path))</D:href>" }
        switch name {
        case .currentUserPrincipal: return href(DAVHref.principal(user))
        case .resourceType:
            switch target {
            case .root, .home: return "<D:collection/>"
            case .principal: return "<D:collection/><D:principal/>"
            case .calendar: return "<D:collection/><C:calendar/>"
            case .object: return ""
            }
        default: break
        }
        switch target {
        case .root: return nil
        case .principal:
            switch name {
            case .displayName: return XMLEscaping.escape(String(decoding: user, as: UTF8.self))
            case .principalURL: return href(DAVHref.principal(user))
            case .calendarHomeSet: return href(DAVHref.home(user))
            default: return nil
            }
        case .home:
            switch name {
            case .displayName: return "Calendars"
            case .owner: return href(DAVHref.principal(user))
            default: return nil
            }
        case .calendar(let syncToken):
            switch name {
            case .displayName: return "Tasks"
            case .owner: return href(DAVHref.principal(user))
            case .supportedComponents: return "<C:comp name=\"VTODO\"/>"
            case .supportedCalendarData: return "<C:calendar-data content-type=\"text/calendar\" version=\"2.0\"/>"
            case .maxResourceSize: return String(HTTPRequest.maximumBodySize)
            case .supportedReportSet:
                return ["<C:calendar-query/>", "<C:calendar-multiget/>", "<D:sync-collection/>"]
                    .map { "<D:supported-report><D:report>\($0)</D:report></D:supported-report>" }.joined()
            case .currentUserPrivilegeSet:
                return ["read", "write", "write-content", "write-properties", "bind", "unbind", "read-current-user-privilege-set"]
                    .map { "<D:privilege><D:\($0)/></D:privilege>" }.joined()
            case .syncToken, .getCTag: return syncToken.map(XMLEscaping.escape)
            default: return nil
            }
        case .object(let task):
            switch name {
            case .getContentType: return DAVResponse.calendarContentType
            case .getLastModified: return HTTPDate.format(milliseconds: task.updatedAt)
            default: return nil
            }
        }
    }

    /// Adds `target` at `href` to `multistatus` with the properties `request` asks for;
    /// `objectText` is the object's calendar text when the caller made it already.
    static func add(_ target: DAVTarget, href: DAVResponseHref, user: [UInt8], request: DAVPropertyRequest,
                    to multistatus: inout DAVMultistatus, objectText: [UInt8]? = nil) {
        var object = DAVObjectText(text: objectText, length: objectText?.count)
        switch request {
        case .names:
            multistatus.add(href: href, properties: all(target), listingMissing: false) { _, _ in true }
        case .all:
            multistatus.add(href: href, properties: all(target), listingMissing: false) { name, output in
                write(name, of: target, user: user, object: &object, to: &output)
            }
        case .some(let names):
            multistatus.add(href: href, properties: names, listingMissing: true) { name, output in
                write(name, of: target, user: user, object: &object, to: &output)
            }
        }
    }
}

import CCurl

/// GET requests through libcurl, for the JWKS endpoint: http and https only (redirects to https only), bounded in
/// time and size, certificates verified. The only code that touches libcurl.
public enum HTTPFetch {
    /// The largest body accepted.
    public static let maximumBodySize = 1 << 20

    /// Initialises libcurl; call once at start-up, before any thread fetches.
    public static func initialize() {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }

    /// Fetches `url` and returns the body of a 200 answer, with the freshness its `Cache-Control` grants.
    public static func get(_ url: String, timeoutSeconds: Int = 5) throws(HTTPFetchError) -> HTTPFetchResponse {
        guard let handle = curl_easy_init() else { throw HTTPFetchError(description: "curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }
        let sink = BodySink()
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE))
        // curl keeps both pointers in the handle: the sink must outlive the transfer (an
        // unretained reference alone does not keep it alive), and the error buffer is
        // unregistered before its closure ends.
        let result: CURLcode = withExtendedLifetime(sink) { errorBuffer.withUnsafeMutableBufferPointer { errorBytes in
            let context = Unmanaged.passUnretained(sink).toOpaque()
            defer { _ = todo_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, nil) }
            let options: [CURLcode] = [
                todo_curl_set_string(handle, CURLOPT_URL, url),
                todo_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"),
                // A redirect may never downgrade to plain http (the keys could then be replaced).
                todo_curl_set_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "https"),
                todo_curl_set_long(handle, CURLOPT_FOLLOWLOCATION, 1),
                todo_curl_set_long(handle, CURLOPT_MAXREDIRS, 3),
                todo_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT, min(timeoutSeconds, 3)),
                todo_curl_set_long(handle, CURLOPT_TIMEOUT, timeoutSeconds),
                todo_curl_set_long(handle, CURLOPT_NOSIGNAL, 1),
                todo_curl_set_string(handle, CURLOPT_USERAGENT, "todo-fcgi"),
                todo_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errorBytes.baseAddress),
                todo_curl_set_pointer(handle, CURLOPT_WRITEDATA, context),
                todo_curl_set_write_function(handle) { data, size, count, context in
                    let sink = Unmanaged<BodySink>.fromOpaque(context!).takeUnretainedValue()
                    let length = size * count
                    guard sink.bytes.count + length <= HTTPFetch.maximumBodySize else { return 0 }  // aborts the transfer
                    data!.withMemoryRebound(to: UInt8.self, capacity: length) {
                        sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
                    }
                    return length
                },
            ]
            if let failed = options.first(where: { $0 != CURLE_OK }) { return failed }
            return curl_easy_perform(handle)
        } }
        guard result == CURLE_OK else {
            let detail = String(cString: errorBuffer.withUnsafeBufferPointer { $0.baseAddress! })
            let reason = detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail
            throw HTTPFetchError(description: "GET \(url) failed: \(reason)")
        }
        var status = 0
        _ = todo_curl_response_code(handle, &status)
        guard status == 200 else { throw HTTPFetchError(description: "GET \(url) answered HTTP \(status)") }
        let cacheControl = todo_curl_header_value(handle, "Cache-Control").map { String(cString: $0) }
        return HTTPFetchResponse(body: sink.bytes, maximumAgeSeconds: cacheControl.flatMap { HTTPFetchResponse.maximumAge(cacheControl: $0) })
    }
}

/// Collects the body during one transfer; touched only by the thread running it.
private final class BodySink {
    var bytes: [UInt8] = []
}

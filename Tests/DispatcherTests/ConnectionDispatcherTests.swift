import Testing
@testable import Dispatcher
import Locks

#if canImport(Glibc)
import Glibc
#endif

@Suite("Connection dispatcher", .serialized)
struct ConnectionDispatcherTests {
    @Test func queuesAConnectionWhenItsRequestArrivesAndTakesItBackAfterward() throws {
        let harness = try DispatcherHarness()
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let client = harness.connectClient()
        #expect(harness.eventually { $0.open == 1 && $0.idle == 1 && $0.queued == 0 })
        sendRequest("hello", on: client)
        #expect(harness.eventually { $0.queued == 1 && $0.idle == 0 })
        let ready = try #require(harness.nextReady())
        #expect(receiveRequest(from: ready.descriptor) == "hello")
        #expect(harness.dispatcher.currentStatistics.busy == 1)
        send("reply", on: ready.descriptor)
        harness.dispatcher.finished(keptDescriptor: ready.descriptor)
        #expect(receive(from: client) == "reply")
        #expect(harness.eventually { $0.idle == 1 && $0.busy == 0 && $0.open == 1 })

        // The next request on the same kept connection is queued again, on the same descriptor.
        sendRequest("again", on: client)
        #expect(harness.eventually { $0.queued == 1 })
        let second = try #require(harness.nextReady())
        #expect(second.descriptor == ready.descriptor)
        #expect(receiveRequest(from: second.descriptor) == "again")
        harness.dispatcher.finished(keptDescriptor: nil)
        close(second.descriptor)
        #expect(harness.eventually { $0.open == 0 && $0.idle == 0 })
    }

    @Test func servesReadyConnectionsInTheOrderTheirRequestsArrived() throws {
        let harness = try DispatcherHarness()
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let clients = (0..<3).map { _ in harness.connectClient() }
        #expect(harness.eventually { $0.idle == 3 })
        for (sent, index) in [2, 0, 1].enumerated() {
            sendRequest("request \(index)", on: clients[index])
            #expect(harness.eventually { $0.queued == sent + 1 })
        }
        var order: [String] = []
        for _ in 0..<3 {
            let ready = try #require(harness.nextReady())
            order.append(receiveRequest(from: ready.descriptor) ?? "?")
            harness.dispatcher.finished(keptDescriptor: ready.descriptor)
        }
        #expect(order == ["request 2", "request 0", "request 1"])
    }

    /// A ready request goes straight to the worker asleep the shortest time (its caches are the
    /// warmest), never through the queue; stopping wakes the others with nothing.
    @Test func aReadyRequestGoesStraightToTheWorkerThatSleptLast() throws {
        let harness = try DispatcherHarness()
        harness.start()
        let taken = Locked<[String: ReadyConnection?]>([:])
        var workers: [pthread_t] = []
        for name in ["first", "second"] {
            let dispatcher = harness.dispatcher
            workers.append(startThread { let ready = dispatcher.nextConnection(); taken.withLock { $0[name] = ready } })
            #expect(harness.eventually { $0.sleeping == workers.count })
        }
        let client = harness.connectClient()
        sendRequest("for the second", on: client)
        #expect(harness.eventually { _ in taken.withLock { $0["second"] != nil } })
        let statistics = harness.dispatcher.currentStatistics
        #expect(statistics.sleeping == 1 && statistics.queued == 0 && statistics.busy == 1 && statistics.dequeued == 1)
        let ready = try #require(taken.withLock { $0["second"] } ?? nil)
        #expect(receiveRequest(from: ready.descriptor) == "for the second")
        #expect(taken.withLock { $0["first"] } == nil)
        harness.dispatcher.finished(keptDescriptor: nil)
        close(ready.descriptor)
        harness.stop(graceSeconds: 0)
        workers.forEach { pthread_join($0, nil) }
        // The first woke when the dispatcher drained, with nothing to do.
        #expect(taken.withLock { $0.keys.contains("first") && $0["first"]! == nil })
    }

    /// What a notifier reports (the database file's watch) is heard before any request that
    /// arrived after it is handed out: a request sent after the file was replaced finds it so.
    @Test func aNotifierIsHeardBeforeAnyRequestThatArrivedAfterIt() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let (source, sink) = (ends[0], ends[1])
        defer { close(source); close(sink) }
        _ = fcntl(source, F_SETFL, O_NONBLOCK)
        let heard = Locked(0)
        let harness = try DispatcherHarness(notifiers: [source: {
            var bytes = [UInt8](repeating: 0, count: 64)
            let count = read(source, &bytes, bytes.count)
            if count > 0 { heard.withLock { $0 += count } }
        }])
        harness.start()
        let client = harness.connectClient()
        #expect(harness.eventually { $0.idle == 1 })
        for round in 1...50 {
            var one: UInt8 = 1
            _ = write(sink, &one, 1)
            sendRequest("after \(round)", on: client)
            let ready = try #require(harness.nextReady())
            #expect(heard.withLock { $0 } == round, "round \(round)")
            #expect(receiveRequest(from: ready.descriptor) == "after \(round)")
            harness.dispatcher.finished(keptDescriptor: ready.descriptor)
        }
        harness.stop(graceSeconds: 0)
    }

    @Test func idleConnectionsHoldNoThreadAndDelayNoRequest() throws {
        let harness = try DispatcherHarness()
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        for _ in 0..<300 { _ = harness.connectClient() }
        #expect(harness.eventually { $0.open == 300 && $0.idle == 300 })
        let active = harness.connectClient()
        sendRequest("ping", on: active)
        #expect(harness.eventually { $0.queued == 1 })
        let ready = try #require(harness.nextReady())
        #expect(receiveRequest(from: ready.descriptor) == "ping")
        #expect(ready.waitedNanoseconds < 1_000_000_000)
        harness.dispatcher.finished(keptDescriptor: ready.descriptor)
        #expect(harness.dispatcher.currentStatistics.open == 301)
    }

    @Test func closesAnIdleConnectionWhosePeerHungUp() throws {
        let harness = try DispatcherHarness()
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let client = harness.connectClient()
        #expect(harness.eventually { $0.open == 1 })
        shutdown(client, Int32(SHUT_RDWR))
        #expect(harness.eventually { $0.open == 0 && $0.idle == 0 && $0.queued == 0 })
    }

    @Test func flagsRequestsThatWaitedPastTheQueueTimeout() throws {
        var settings = DispatcherSettings()
        settings.queueTimeoutNanoseconds = 30_000_000
        let harness = try DispatcherHarness(settings: settings)
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let late = harness.connectClient()
        sendRequest("late", on: late)
        #expect(harness.eventually { $0.queued == 1 })
        usleep(80_000)  // no worker came for 80 ms
        let overdue = try #require(harness.nextReady())
        #expect(overdue.isOverdue)
        #expect(overdue.waitedNanoseconds >= 30_000_000)
        #expect(receiveRequest(from: overdue.descriptor) == "late")
        harness.dispatcher.finished(keptDescriptor: overdue.descriptor)

        let prompt = harness.connectClient()
        sendRequest("prompt", on: prompt)
        #expect(harness.eventually { $0.queued == 1 })
        let onTime = try #require(harness.nextReady())
        #expect(!onTime.isOverdue)
        #expect(receiveRequest(from: onTime.descriptor) == "prompt")
        harness.dispatcher.finished(keptDescriptor: onTime.descriptor)
        let statistics = harness.dispatcher.currentStatistics
        #expect(statistics.shed == 1 && statistics.dequeued == 2)
    }

    /// At the limit a new connection takes the place of the longest-idle one (before, 6,000 idle
    /// connections held the 4,096 places and nginx's new connections waited in a full backlog).
    @Test func aNewConnectionAtTheLimitReplacesTheLongestIdle() throws {
        var settings = DispatcherSettings()
        settings.maximumConnections = 2
        let harness = try DispatcherHarness(settings: settings)
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let oldest = harness.connectClient()
        #expect(harness.eventually { $0.open == 1 })
        usleep(20_000)
        let second = harness.connectClient()
        #expect(harness.eventually { $0.open == 2 })
        let third = harness.connectClient()
        #expect(harness.eventually { $0.accepted == 3 && $0.open == 2 && $0.closedIdle == 1 })
        #expect(receive(from: oldest) == "")
        sendRequest("served", on: third)
        let ready = try #require(harness.nextReady())
        #expect(receiveRequest(from: ready.descriptor) == "served")
        harness.dispatcher.finished(keptDescriptor: ready.descriptor)
        _ = second
    }

    @Test func holdsNoMoreThanTheConnectionLimitWhenNoneIsIdle() throws {
        var settings = DispatcherSettings()
        settings.maximumConnections = 2
        let harness = try DispatcherHarness(settings: settings)
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let first = harness.connectClient()
        let second = harness.connectClient()
        sendRequest("a", on: first)
        sendRequest("b", on: second)
        #expect(harness.eventually { $0.queued == 2 })
        let busy = [try #require(harness.nextReady()), try #require(harness.nextReady())]
        #expect(Set(busy.map { receiveRequest(from: $0.descriptor) }) == ["a", "b"])
        _ = harness.connectClient()  // waits in the listen backlog: both are at work
        usleep(100_000)
        #expect(harness.dispatcher.currentStatistics.accepted == 2)
        harness.dispatcher.finished(keptDescriptor: nil)
        close(busy[0].descriptor)
        #expect(harness.eventually { $0.accepted == 3 && $0.open == 2 })
        harness.dispatcher.finished(keptDescriptor: busy[1].descriptor)
    }

    /// Before: a connection was handed to a thread at its first byte, and libfcgi's reads
    /// then waited on the peer (8 connections trickling a byte every 8 s held all 8 threads).
    @Test func aRequestIsQueuedOnlyOnceItHasArrivedWhole() throws {
        let harness = try DispatcherHarness()
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let client = harness.connectClient()
        let request = fastCGIRequest("whole", body: Array(repeating: 7, count: 3000))
        for index in 0..<(request.count - 1) where index % 700 == 0 {
            send(bytes: Array(request[index..<min(index + 700, request.count - 1)]), on: client)
            usleep(15_000)
            #expect(harness.dispatcher.currentStatistics.queued == 0)
        }
        #expect(harness.eventually { $0.arriving == 1 && $0.idle == 0 })
        send(bytes: [request.last!], on: client)
        let ready = try #require(harness.nextReady())
        #expect(receiveRequest(from: ready.descriptor) == "whole")
        #expect(!ready.closeAfterResponse)
        #expect(ready.waitedNanoseconds < 50_000_000)  // measured from the last byte, not the first
        harness.dispatcher.finished(keptDescriptor: ready.descriptor)
        #expect(harness.eventually { $0.arriving == 0 && $0.idle == 1 })
    }

    @Test func aRequestThatDoesNotArriveInTimeIsClosed() throws {
        var settings = DispatcherSettings()
        settings.requestTimeoutNanoseconds = 300_000_000
        let harness = try DispatcherHarness(settings: settings)
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let trickler = harness.connectClient()
        let request = fastCGIRequest("slow")
        for byte in request.prefix(20) {
            send(bytes: [byte], on: trickler)  // a byte every 25 ms: bytes keep coming, the request never ends
            usleep(25_000)
        }
        #expect(harness.eventually { $0.timedOutRequests == 1 && $0.open == 0 && $0.arriving == 0 })
        #expect(isClosed(trickler))
        #expect(harness.dispatcher.currentStatistics.dequeued == 0)
    }

    @Test func aPeerThatHangsUpMidRequestIsClosedAtOnce() throws {
        let harness = try DispatcherHarness()
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let client = harness.connectClient()
        send(bytes: Array(fastCGIRequest("cut").prefix(30)), on: client)
        #expect(harness.eventually { $0.arriving == 1 })
        shutdown(client, Int32(SHUT_WR))
        #expect(harness.eventually { $0.open == 0 && $0.arriving == 0 })
    }

    @Test func paramsOverTheCapAndBytesThatAreNotFastCGIAreRefusedUnread() throws {
        var settings = DispatcherSettings()
        settings.maximumParamsBytes = 1000
        let harness = try DispatcherHarness(settings: settings)
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        // A params record announcing 40,000 bytes: refused at its header, before its content.
        let huge = harness.connectClient()
        send(bytes: [1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0] + [1, 4, 0, 1, 0x9C, 0x40, 0, 0], on: huge)
        #expect(isClosed(huge))
        let stranger = harness.connectClient()
        send("GET / HTTP/1.1\r\n\r\n", on: stranger)
        #expect(isClosed(stranger))
        #expect(harness.eventually { $0.refusedRequests == 2 && $0.open == 0 })
        #expect(harness.dispatcher.currentStatistics.dequeued == 0)
    }

    @Test func idleConnectionsAreClosedAfterTheIdleTimeout() throws {
        var settings = DispatcherSettings()
        settings.idleTimeoutNanoseconds = 200_000_000
        let harness = try DispatcherHarness(settings: settings)
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let idle = harness.connectClient()
        #expect(harness.eventually { $0.idle == 1 })
        var closed = false
        for _ in 0..<30 where !closed {  // the sweep runs every second
            usleep(100_000)
            closed = harness.dispatcher.currentStatistics.closedIdle == 1
        }
        #expect(closed && harness.dispatcher.currentStatistics.open == 0)
        #expect(receive(from: idle) == "")
    }

    /// Before: a worker handing a kept connection back just after the dispatcher read the clock
    /// for its idle sweep (and before it took the lock) stamped the connection idle "later than
    /// now"; the sweep's unsigned `now - since` wrapped to centuries, and the connection was
    /// closed at once, while nginx, which had its answer, was already sending the next request
    /// on it: closing with that request unread reset the connection, and nginx answered that
    /// POST 502 (issue 34, item 10). The clock here replays that interleaving: the hand-back
    /// reads it after the sweep did.
    @Test func aConnectionHandedBackWhileTheSweepRunsIsNotTakenForLongIdle() throws {
        let now = Locked<UInt64>(1_000_000_000_000)
        var settings = DispatcherSettings()
        settings.idleTimeoutNanoseconds = 10_000_000_000
        let harness = try DispatcherHarness(settings: settings, clock: { now.withLock { $0 } })
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let client = harness.connectClient()
        sendRequest("first", on: client)
        let ready = try #require(harness.nextReady())
        #expect(receiveRequest(from: ready.descriptor) == "first")
        // The hand-back reads the clock 5 µs after the sweep below reads it (a second on, so the
        // sweep is due).
        now.withLock { $0 += 1_000_005_000 }
        harness.dispatcher.finished(keptDescriptor: ready.descriptor)
        now.withLock { $0 -= 5_000 }
        _ = harness.connectClient()  // wakes the dispatcher: its loop sweeps after the accept
        #expect(harness.eventually { $0.open == 2 })
        usleep(50_000)
        #expect(harness.dispatcher.currentStatistics.closedIdle == 0)
        // The kept connection still carries nginx's next request.
        sendRequest("second", on: client)
        let second = try #require(harness.nextReady())
        #expect(second.descriptor == ready.descriptor)
        #expect(receiveRequest(from: second.descriptor) == "second")
        harness.dispatcher.finished(keptDescriptor: nil)
        close(second.descriptor)
    }

    /// Before: libfcgi read a pipelined second request into its buffer and dropped it, and the
    /// connection stayed open with the request never answered.
    @Test func aPipelinedRequestMarksTheConnectionForClosing() throws {
        let harness = try DispatcherHarness()
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let client = harness.connectClient()
        send(bytes: fastCGIRequest("first") + fastCGIRequest("second", id: 2), on: client)
        let ready = try #require(harness.nextReady())
        #expect(ready.closeAfterResponse)
        harness.dispatcher.finished(keptDescriptor: nil)
        close(ready.descriptor)
    }

    @Test func servesRequestsAlreadySentAfterStopAndKeepsTheConnectionUntilTheGrace() throws {
        let harness = try DispatcherHarness()
        harness.start()
        let client = harness.connectClient()
        sendRequest("in flight", on: client)
        #expect(harness.eventually { $0.queued == 1 })
        let loop = harness.dispatcher
        let stopper = startThread { loop.stop(graceSeconds: 0.4) }
        pthread_join(stopper, nil)
        let ready = try #require(harness.nextReady())
        #expect(receiveRequest(from: ready.descriptor) == "in flight")
        send("answer", on: ready.descriptor)
        harness.dispatcher.finished(keptDescriptor: ready.descriptor)
        #expect(receive(from: client) == "answer")
        // Kept for another request during the grace (closing it at once would race nginx)...
        #expect(harness.eventually { $0.idle == 1 })
        sendRequest("another", on: client)
        let again = try #require(harness.nextReady())
        #expect(receiveRequest(from: again.descriptor) == "another")
        harness.dispatcher.finished(keptDescriptor: again.descriptor)
        // ...and closed once the grace is over.
        #expect(receive(from: client) == "")
        #expect(harness.stop(graceSeconds: 0.4) < 2)
        #expect(harness.dispatcher.nextConnection() == nil)
    }

    @Test func leavesIdleConnectionsToThePeerUntilTheGraceEnds() throws {
        let harness = try DispatcherHarness()
        harness.start()
        let client = harness.connectClient()
        #expect(harness.eventually { $0.idle == 1 })
        let seconds = harness.stop(graceSeconds: 0.3)
        #expect(seconds >= 0.25 && seconds < 2)
        #expect(receive(from: client) == "")
        #expect(harness.dispatcher.currentStatistics.open == 0)
        #expect(harness.dispatcher.nextConnection() == nil)
    }

    @Test func stopsAtOnceWhenThePeerClosesItsIdleConnections() throws {
        let harness = try DispatcherHarness()
        harness.start()
        let client = harness.connectClient()
        #expect(harness.eventually { $0.idle == 1 })
        let closer = startThread {
            usleep(100_000)
            shutdown(client, Int32(SHUT_RDWR))
        }
        let seconds = harness.stop(graceSeconds: 10)
        pthread_join(closer, nil)
        #expect(seconds < 2)
    }

    @Test func refusesTCPPeersOutsideTheAllowList() throws {
        var settings = DispatcherSettings()
        settings.allowedPeers = try PeerAllowList(parsing: "127.0.0.2, ::1")
        let refusing = try DispatcherHarness(settings: settings, tcp: true)
        refusing.start()
        defer { refusing.stop(graceSeconds: 0) }
        let outsider = refusing.connectClient()
        #expect(receive(from: outsider) == "")
        #expect(refusing.eventually { $0.refusedPeers == 1 && $0.open == 0 })

        settings.allowedPeers = try PeerAllowList(parsing: "127.0.0.1")
        let allowing = try DispatcherHarness(settings: settings, tcp: true)
        allowing.start()
        defer { allowing.stop(graceSeconds: 0) }
        _ = allowing.connectClient()
        #expect(allowing.eventually { $0.open == 1 && $0.refusedPeers == 0 })
    }
}

@Suite("Peer allow-list")
struct PeerAllowListTests {
    private func allows(_ list: PeerAllowList, ipv4 text: String) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(text)
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { list.allows($0) } }
    }

    private func allows(_ list: PeerAllowList, ipv6 text: String) -> Bool {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        _ = inet_pton(AF_INET6, text, &address.sin6_addr)
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { list.allows($0) } }
    }

    @Test func anEmptyOrUnsetListAllowsEveryPeer() throws {
        #expect(try PeerAllowList(parsing: nil).allowsAnyPeer)
        #expect(try PeerAllowList(parsing: " , ").allowsAnyPeer)
        #expect(allows(try PeerAllowList(parsing: ""), ipv4: "10.1.2.3"))
    }

    @Test func matchesIPv4IPv6AndIPv4MappedPeersExactly() throws {
        let list = try PeerAllowList(parsing: "10.0.0.5, fd00::7")
        #expect(allows(list, ipv4: "10.0.0.5"))
        #expect(!allows(list, ipv4: "10.0.0.6"))
        #expect(allows(list, ipv6: "fd00::7"))
        #expect(!allows(list, ipv6: "fd00::8"))
        #expect(allows(list, ipv6: "::ffff:10.0.0.5"))
        #expect(!allows(list, ipv6: "::ffff:10.0.0.6"))
    }

    @Test func refusesEntriesThatAreNotAddresses() {
        #expect(throws: PeerAllowListError.self) { try PeerAllowList(parsing: "127.0.0.1,localhost") }
        #expect(throws: PeerAllowListError.self) { try PeerAllowList(parsing: "10.0.0.0/8") }
    }
}

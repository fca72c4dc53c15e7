using System.Globalization;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using static CachifyNet.Redis.Tests.RecordingSubscriber;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// <see cref="RedisBackplane"/> on the suite's Redis (a private redis-server, a cluster or Garnet, see <see cref="RedisRequirement"/>);
/// each backplane on its own multiplexer stands for a process. Tests that kill connections, pause or restart the server
/// use a redis-server of their own unless the class's server is private already. Assertions are about order, never time.
/// </summary>
public sealed class RedisBackplaneTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    private static readonly TimeSpan Beat = RedisBackplane.HeartbeatInterval;

    private string Channel => Prefix + ":backplane";

    /// <summary>The channel as the backplane subscribes and publishes it (routed by its hash slot on a cluster).</summary>
    private RedisChannel BackplaneChannel => RedisChannel.Literal(Channel).WithKeyRouting();

    [RedisFact]
    public async Task Publish_TwoConnections_EverySubscriberGetsEveryNotice_ItsOwnIncluded()
    {
        var a = NewBackplane();
        var b = NewBackplane();
        var atA = Subscribed(a);
        var atB = Subscribed(b);
        await atA.WhenFlowingAsync().Within("a's subscriber knows that notices flow");
        await atB.WhenFlowingAsync().Within("b's subscriber knows that notices flow");

        a.Publish(Bytes("from a"));
        await b.PublishAsync(Bytes("from b"), CancellationToken.None);

        foreach (var at in new[] { atA, atB })
        {
            await at.WhenAsync(e => e.Contains("from a") && e.Contains("from b")).Within("both notices arrived");
            Assert.Equal(["from a", "from b"], at.Notices.Order(StringComparer.Ordinal));
            at.AssertWellFormed();
        }

        // A subscriber that joins later gets the notices published from then on.
        var late = Subscribed(b);
        a.Publish(Bytes("later"));
        await late.WhenAsync(e => e.Contains("later")).Within("the late subscriber got the notice");
        Assert.Equal(["later"], late.Notices);
        late.AssertWellFormed();
    }

    [RedisFact]
    public async Task Publish_ThousandNoticesFromOnePublisher_ArriveInPublicationOrder()
    {
        var a = NewBackplane();
        var b = NewBackplane();
        var atA = Subscribed(a);
        var atB = Subscribed(b);
        await atA.WhenFlowingAsync().Within("a works");
        await atB.WhenFlowingAsync().Within("b works");

        // Pipelined: all 1,000 are in flight together, half of them published synchronously from another thread's view.
        var sent = Enumerable.Range(0, 1000).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
        var pending = new List<Task>();
        foreach (var notice in sent)
        {
            if (notice.EndsWith('7'))
            {
                a.Publish(Bytes(notice));
            }
            else
            {
                pending.Add(a.PublishAsync(Bytes(notice), CancellationToken.None).AsTask());
            }
        }

        await Task.WhenAll(pending).Within("the publishes completed");
        foreach (var at in new[] { atA, atB })
        {
            await at.WhenAsync(e => e.Contains("999")).Within("the last notice arrived");
            Assert.Equal(sent, at.Notices);
            at.AssertWellFormed();
        }
    }

    [RedisFact]
    public async Task Heartbeats_AndForeignMessages_AreNeverDeliveredAsNotices()
    {
        var connection = NewConnection();
        var a = NewBackplane(connection);
        var b = NewBackplane();
        var atA = Subscribed(a);
        var atB = Subscribed(b);
        await atA.WhenFlowingAsync().Within("a works");
        await atB.WhenFlowingAsync().Within("b works");
        await Bounded.UntilAsync(() => Task.FromResult(a.OtherHeartbeats >= 3 && b.OtherHeartbeats >= 3), "each backplane received the other's heartbeats");

        // Not backplane messages: an unknown kind, an empty message, a heartbeat of the wrong length. Sent on a's connection,
        // so they reach Redis before the fence.
        var raw = connection.GetSubscriber();
        var channel = BackplaneChannel;
        raw.Publish(channel, new byte[] { 9, 1, 2 });
        raw.Publish(channel, Array.Empty<byte>());
        raw.Publish(channel, new byte[] { 2, 1, 2, 3 });
        a.Publish(Bytes("fence"));

        foreach (var at in new[] { atA, atB })
        {
            await at.WhenAsync(e => e.Contains("fence")).Within("the fence arrived");
            Assert.Equal(["fence"], at.Notices);
            at.AssertWellFormed();
        }
    }

    [RedisFact]
    public async Task Subscriber_Throws_OtherSubscribersStillGetEverything_AndItIsLogged()
    {
        var logs = new ListLoggerFactory();
        var a = NewBackplane(logs: logs);
        var thrower = Subscribed(a, new RecordingSubscriber { Throws = true });
        var other = Subscribed(a);
        await other.WhenFlowingAsync().Within("a works");

        a.Publish(Bytes("one"));
        await a.PublishAsync(Bytes("two"), CancellationToken.None);

        await other.WhenAsync(e => e.Contains("two")).Within("the second notice arrived");

        // The notices are the same; the connection events may differ: a subscriber that subscribed before the first
        // heartbeat came back gets Lost then Restored, one that subscribed after gets neither (the two subscribe in turn).
        Assert.Equal(other.Notices, thrower.Notices);
        Assert.Equal(["one", "two"], other.Notices);
        thrower.AssertWellFormed();
        Assert.Equal(2, logs.Entries.Count(e => e.EventId == 2015 && e.Error is InvalidOperationException && e.Message.Contains("OnNotice", StringComparison.Ordinal)));
        other.AssertWellFormed();
    }

    [RedisFact]
    public async Task SubscriptionDisposed_ThatSubscriberGetsNothingMore_OthersDo()
    {
        var a = NewBackplane();
        var first = new RecordingSubscriber();
        var subscription = a.Subscribe(first);
        var second = Subscribed(a);
        await second.WhenFlowingAsync().Within("a works");
        a.Publish(Bytes("before"));
        await second.WhenAsync(e => e.Contains("before")).Within("the first notice arrived");
        Assert.Equal(["before"], first.Notices);

        subscription.Dispose();
        subscription.Dispose();
        a.Publish(Bytes("after"));

        // Subscribers are called in the order they subscribed, one notice at a time: when the later one has it, the
        // earlier one would have had it.
        await second.WhenAsync(e => e.Contains("after")).Within("the second notice arrived");
        Assert.Equal(["before"], first.Notices);
    }

    [RedisFact]
    public async Task SubscriptionDisposedFromItsOwnCall_NoDeadlock_NothingMore()
    {
        var a = NewBackplane();
        IDisposable? subscription = null;
        var quitter = new RecordingSubscriber();
        var selfDisposing = new DisposingSubscriber(quitter, () => Volatile.Read(ref subscription)!.Dispose());
        Volatile.Write(ref subscription, a.Subscribe(selfDisposing));
        var other = Subscribed(a);
        await other.WhenFlowingAsync().Within("a works");

        a.Publish(Bytes("one"));
        a.Publish(Bytes("two"));
        await other.WhenAsync(e => e.Contains("two")).Within("both notices arrived");
        Assert.Equal(["one"], quitter.Notices);
        Assert.Equal(["one", "two"], other.Notices);
    }

    [RedisFact]
    public async Task Dispose_StopsHeartbeatsAndDelivery_ThenPublishAndSubscribeThrow()
    {
        var time = new FakeTimeProvider();
        var connection = NewConnection();

        // An observer on the channel, subscribed before a exists: counts a's heartbeats as Redis delivers them.
        RedisBackplane? a = null;
        var observed = 0;
        var fenced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var observer = await NewConnection().GetSubscriber().SubscribeAsync(BackplaneChannel);
        observer.OnMessage(message =>
        {
            var frame = ((ReadOnlyMemory<byte>)message.Message).Span;
            if (frame.Length == 33 && frame[0] == 2 && new Guid(frame.Slice(1, 16)) == Volatile.Read(ref a)!.Id)
            {
                Interlocked.Increment(ref observed);
            }
            else if (frame.SequenceEqual("fence"u8))
            {
                fenced.TrySetResult();
            }
        });
        Volatile.Write(ref a, NewBackplane(connection, time));
        var at = Subscribed(a);

        await ConnectedAsync(a, time);
        time.Advance(Beat);
        time.Advance(Beat);
        a.Dispose();
        var sent = a.HeartbeatsSent;
        Assert.True(sent >= 1, $"{sent} heartbeats sent");

        // Ten seconds of the backplane's clock: a heartbeat timer still running would publish 40 more.
        for (var i = 0; i < 40; i++)
        {
            time.Advance(Beat);
        }

        // On a's connection, after anything a published: once it arrives, every heartbeat of a has arrived.
        await connection.GetSubscriber().PublishAsync(BackplaneChannel, "fence"u8.ToArray());
        await fenced.Task.Within("the fence arrived");
        Assert.Equal(sent, a.HeartbeatsSent);
        Assert.Equal(sent, Volatile.Read(ref observed));

        var delivered = at.Events.Count;
        NewBackplane().Publish(Bytes("after"));
        Assert.Throws<ObjectDisposedException>(() => a.Publish(Bytes("x")));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => a.PublishAsync(Bytes("x"), CancellationToken.None).AsTask());
        Assert.Throws<ObjectDisposedException>(() => a.Subscribe(new RecordingSubscriber()));
        a.Dispose();
        Assert.Equal(delivered, at.Events.Count);
    }

    [RedisFact]
    public void MultiplexerDisposedFirst_HeartbeatsAndDisposeDoNotThrow_PublishThrows()
    {
        var time = new FakeTimeProvider();
        var connection = Fixture.Connect();
        var a = new RedisBackplane(connection, new RedisBackplaneOptions { Channel = Channel, TimeProvider = time });
        var at = new RecordingSubscriber();
        using var subscription = a.Subscribe(at);
        connection.Dispose();

        for (var i = 0; i < 8; i++)
        {
            time.Advance(Beat); // a timer callback that threw would end the test process
        }

        var error = Assert.ThrowsAny<Exception>(() => a.Publish(Bytes("x")));
        Assert.True(error is RedisException or ObjectDisposedException, error.ToString());
        a.Dispose();
        at.AssertWellFormed();
    }

    [RedisFact]
    public async Task ClientKillPubSub_LostThenRestored_NoticesPublishedAfterRestoredAreDelivered()
    {
        // CLIENT KILL TYPE pubsub ends every subscription on the server: on a server other test classes share (a cluster,
        // CACHIFY_REDIS_ENDPOINT) it would cut theirs too, so the test then starts a redis-server of its own.
        using var own = PrivateFixtureServer ? null : new RedisServer("cachify-redis-backplane-");
        var logs = new ListLoggerFactory();
        var a = NewBackplane(Connect(own), logs: logs);
        var b = NewBackplane(Connect(own));
        var atA = Subscribed(a);
        var atB = Subscribed(b);
        await atA.WhenFlowingAsync().Within("a works");
        await atB.WhenFlowingAsync().Within("b works");
        var (lossesA, lossesB) = (atA.Losses, atB.Losses);

        var admin = Connect(own, admin: true);
        foreach (var server in admin.GetServers())
        {
            server.Execute("CLIENT", "KILL", "TYPE", "pubsub");
        }

        await atA.WhenRestoredAfterAsync(lossesA).Within("a was told its subscription was lost, then restored");
        await atB.WhenRestoredAfterAsync(lossesB).Within("b was told its subscription was lost, then restored");
        b.Publish(Bytes("after"));
        await atA.WhenAsync(e => e.Contains("after")).Within("the notice published after the restore arrived");
        Assert.Equal(["after"], atA.Notices);
        atA.AssertWellFormed();
        atB.AssertWellFormed();
        Assert.Contains(logs.Entries, e => e.EventId == 2013);
        Assert.Contains(logs.Entries, e => e.EventId == 2014);
    }

    [RedisFact]
    public async Task RedisRestarted_LostThenRestored_PublishFailsWhileDown_NoticesAfterRestoredAreDelivered()
    {
        using var server = new RestartableRedis();
        var connectionA = server.Connect();
        Owned(connectionA);
        var connectionB = server.Connect();
        Owned(connectionB);
        var a = NewBackplane(connectionA);
        var b = NewBackplane(connectionB);
        var atA = Subscribed(a);
        var atB = Subscribed(b);
        await atA.WhenFlowingAsync().Within("a works");
        await atB.WhenFlowingAsync().Within("b works");
        var (lossesA, lossesB) = (atA.Losses, atB.Losses);

        server.Kill();
        await atA.WhenAsync(e => e.Count(x => x == Lost) > lossesA).Within("a was told notices may be lost");
        await atB.WhenAsync(e => e.Count(x => x == Lost) > lossesB).Within("b was told notices may be lost");
        Bounded.Until(() => !connectionB.IsConnected, "b's multiplexer saw the server go");
        Assert.ThrowsAny<RedisException>(() => b.Publish(Bytes("lost")));
        await Assert.ThrowsAnyAsync<RedisException>(() => b.PublishAsync(Bytes("lost"), CancellationToken.None).AsTask());

        server.Start();
        await atA.WhenRestoredAfterAsync(lossesA).Within("a was told notices flow again");
        await atB.WhenRestoredAfterAsync(lossesB).Within("b was told notices flow again");
        b.Publish(Bytes("after"));
        await atA.WhenAsync(e => e.Contains("after")).Within("the notice published after the restart arrived");
        Assert.Equal(["after"], atA.Notices);
        atA.AssertWellFormed();
        atB.AssertWellFormed();
    }

    [RedisFact]
    public async Task CreatedWhileRedisIsDown_LostUntilRedisComes_ThenRestoredAndDelivering()
    {
        using var server = new RestartableRedis();
        server.Kill();
        var connection = server.Connect();
        Owned(connection);
        var a = NewBackplane(connection);
        var at = Subscribed(a);
        Assert.Equal([Lost], at.Events); // nothing proves the channel yet

        server.Start();
        await at.WhenFlowingAsync().Within("the backplane subscribed once Redis came");
        var other = server.Connect();
        Owned(other);
        NewBackplane(other).Publish(Bytes("hello"));
        await at.WhenAsync(e => e.Contains("hello")).Within("the notice arrived");
        Assert.Equal(["hello"], at.Notices);
        at.AssertWellFormed();
    }

    [RedisFact]
    public async Task HeartbeatsStopComingBack_LostAfterOneSecondOfItsClock_RestoredByAHeartbeatSentAfter()
    {
        // A silent failure: no connection drops, but nothing published arrives (CLIENT PAUSE WRITE holds every PUBLISH).
        // Garnet has no CLIENT PAUSE, and a paused shared server would stall other tests: a redis-server of its own.
        using var server = new RedisServer("cachify-redis-backplane-");
        var time = new FakeTimeProvider();
        var logs = new ListLoggerFactory();
        var connection = server.Connect();
        Owned(connection);
        var a = NewBackplane(connection, time, logs);
        var at = Subscribed(a);
        await ConnectedAsync(a, time);
        var before = at.Events; // [] or [lost, restored]: the backplane may have worked before the subscriber came
        Assert.True(before.Count is 0 or 2, string.Join(", ", before));

        var admin = Connect(server, admin: true).GetServer(server.EndPoint);
        admin.Execute("CLIENT", "PAUSE", "60000", "WRITE");
        try
        {
            for (var i = 0; i < 3; i++)
            {
                time.Advance(Beat);
            }

            Assert.Equal(before, at.Events); // 750 ms without a heartbeat: still trusted
            time.Advance(Beat);
            Assert.Equal([.. before, Lost], at.Events); // 1 s
            Assert.Contains(logs.Entries, e => e.EventId == 2013 && e.Message.Contains("no own heartbeat", StringComparison.Ordinal));
        }
        finally
        {
            admin.Execute("CLIENT", "UNPAUSE");
        }

        // The heartbeat held by the pause was numbered before the loss: when it comes back it proves nothing (Redis may
        // have dropped notices before it); a heartbeat sent after the loss does.
        var held = a.HeartbeatsSent;
        await Bounded.UntilAsync(() => Task.FromResult(a.LastHeard == held), "the heartbeat held by the pause came back");
        Assert.Equal([.. before, Lost], at.Events);
        await Bounded.UntilAsync(async () =>
        {
            time.Advance(Beat);
            await Task.Yield();
            return at.Events.Count == before.Count + 2;
        }, "a heartbeat came back after the pause");
        Assert.Equal([.. before, Lost, Restored], at.Events);
    }

    [RedisTheory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("my channel")]
    [InlineData("tab\there")]
    [InlineData("line\nbreak")]
    public void Constructor_BadChannel_ThrowsNamingTheOptionAndTheFix(string channel)
    {
        var error = Assert.Throws<ArgumentException>(() => new RedisBackplane(Fixture.Connection, new RedisBackplaneOptions { Channel = channel }));
        Assert.Equal("options", error.ParamName);
        Assert.Contains("RedisBackplaneOptions.Channel", error.Message, StringComparison.Ordinal);
        Assert.Contains("backplane\"", error.Message, StringComparison.Ordinal); // an example of a good one
    }

    [RedisFact]
    public void Constructor_NullArguments_Throw()
    {
        Assert.Equal("connection", Assert.Throws<ArgumentNullException>(() => new RedisBackplane(null!)).ParamName);
        Assert.Throws<ArgumentException>(() => new RedisBackplane(Fixture.Connection, new RedisBackplaneOptions { Channel = null! }));
        var backplane = NewBackplane();
        Assert.Equal("subscriber", Assert.Throws<ArgumentNullException>(() => backplane.Subscribe(null!)).ParamName);
        Assert.Equal(TimeProvider.System, new RedisBackplaneOptions { TimeProvider = null }.TimeProvider);
        Assert.Equal("cachify:backplane", new RedisBackplaneOptions().Channel);
    }

    /// <summary>Whether the class's server is a redis-server only this class uses (so it may kill its connections).</summary>
    private static bool PrivateFixtureServer => RedisRequirement.Local && !RedisRequirement.OnCluster;

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Advances the backplane's clock until an own heartbeat has come back (the first is sent without waiting for the clock).</summary>
    private static Task ConnectedAsync(RedisBackplane backplane, FakeTimeProvider time) => Bounded.UntilAsync(async () =>
    {
        if (backplane.IsConnected)
        {
            return true;
        }

        time.Advance(Beat);
        await Task.Yield();
        return backplane.IsConnected;
    }, "the backplane received its own heartbeat");

    private RedisBackplane NewBackplane(IConnectionMultiplexer? connection = null, TimeProvider? time = null, ListLoggerFactory? logs = null)
    {
        var backplane = new RedisBackplane(connection ?? NewConnection(), new RedisBackplaneOptions { Channel = Channel, TimeProvider = time, LoggerFactory = logs });
        Owned(backplane);
        return backplane;
    }

    private RecordingSubscriber Subscribed(RedisBackplane backplane, RecordingSubscriber? subscriber = null)
    {
        subscriber ??= new RecordingSubscriber();
        Owned(backplane.Subscribe(subscriber));
        return subscriber;
    }

    /// <summary>A multiplexer to <paramref name="server"/>, or to the class's Redis; disposed with the test.</summary>
    private ConnectionMultiplexer Connect(RedisServer? server, bool admin = false)
    {
        if (!admin)
        {
            if (server is null)
            {
                return NewConnection();
            }

            var connection = server.Connect();
            Owned(connection);
            return connection;
        }

        var options = ConfigurationOptions.Parse(server?.EndPoint ?? Fixture.EndPoint);
        options.AllowAdmin = true;
        options.AbortOnConnectFail = false;
        var adminConnection = ConnectionMultiplexer.Connect(options);
        Owned(adminConnection);
        return adminConnection;
    }

    /// <summary>Records its first notice, then disposes its own subscription from within the call.</summary>
    private sealed class DisposingSubscriber(RecordingSubscriber record, Action unsubscribe) : CachifyNet.Stores.ICacheBackplaneSubscriber
    {
        public void OnNotice(ReadOnlySpan<byte> notice)
        {
            record.OnNotice(notice);
            unsubscribe();
        }

        public void OnConnectionLost() => record.OnConnectionLost();

        public void OnConnectionRestored() => record.OnConnectionRestored();
    }
}

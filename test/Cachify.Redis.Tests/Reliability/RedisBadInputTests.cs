using System.Text.RegularExpressions;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests.Reliability;

/// <summary>
/// Hostile input on Redis: keys over 1 MB, results System.Text.Json cannot write (cycles, delegates) in both error
/// modes, a foreign value of another Redis type under a Cachify key, and arguments whose Equals lies or whose
/// GetHashCode throws. (Prefixes, corrupt payloads and parameters without a stable text form are covered, and
/// tagged, in RedisCacheOptionsTests and RedisCacheBackendTests.)
/// </summary>
[Trait("Category", "Reliability")]
public sealed class RedisBadInputTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    [RedisFact]
    public async Task Invoke_KeysOverOneMegabyte_AreHashedToShortKeysAndNeverConfused()
    {
        var f = Cachify.Wrap((string text) => text.Length + ":" + text[^1]).Named("huge").NoSelf().Backend(Backend);
        var g = Cachify.Wrap((int id) => Task.FromResult(id)).KeyBy(id => new string('k', 1_500_000) + id).Named("huge.keyby").Backend(Backend);
        var a = new string('x', 2_000_000) + "a";
        var b = new string('x', 2_000_000) + "b";

        Assert.Equal("2000001:a", f.Invoke(a));
        Assert.Equal("2000001:b", f.Invoke(b));
        Assert.Equal(1, await g.Invoke(1));
        Assert.Equal(2, await g.Invoke(2));

        // Another process finds the same entries.
        var other = Cachify.Wrap((string text) => "recomputed").Named("huge").NoSelf().Backend(NewBackend(connection: NewConnection()));
        Assert.Equal("2000001:a", other.Invoke(a));

        var keys = EntryKeys();
        Assert.Equal(4, keys.Count);
        Assert.All(keys, k => Assert.True(k.Length < 400, $"a key of {k.Length} characters")); // the KeyBy identity is long, the arguments are not
        Assert.All(keys, k => Assert.Matches("^\\{" + Regex.Escape(Prefix) + @":v:huge(\.keyby)?(~key\(.*\))?:#[0-9A-F]{64}\}$", k));
    }

    [RedisFact]
    public async Task Silent_ResultJsonCannotWrite_IsReturnedUncachedLoggedAndCounted()
    {
        var logs = new ListLoggerFactory();
        using var errors = new BackendErrorCounter("unserializable.silent");
        using var delegateErrors = new BackendErrorCounter("unserializable.silent.delegate");
        var backend = NewBackend(new RedisCacheOptions { LoggerFactory = logs });
        var calls = 0;
        var cyclic = Cachify.Wrap((int x) => { calls++; return Node.Cycle(x); }).Named("unserializable.silent").NoSelf().Backend(backend);
        var withDelegate = Cachify.Wrap((int x) => { calls++; return Task.FromResult(new Holder(x, () => x)); }).Named("unserializable.silent.delegate").NoSelf().Backend(backend);

        var node = cyclic.Invoke(1);
        Assert.Same(node, node.Next); // the caller gets the result itself
        Assert.Equal(2, cyclic.Invoke(2).Value);
        Assert.Equal(1, cyclic.Invoke(1).Value);
        Assert.Equal(7, (await withDelegate.Invoke(7)).Read());
        Assert.Equal(7, (await withDelegate.Invoke(7)).Read());

        Assert.Equal(5, calls);       // nothing was cached
        Assert.Empty(EntryKeys());    // no value, and no lock left behind
        Assert.Equal(3, errors.Count("serialize"));
        Assert.Equal(2, delegateErrors.Count("serialize"));
        Assert.Contains(logs.Entries, e => e.EventId == 3004 && e.Error is System.Text.Json.JsonException);
        Assert.Contains(logs.Entries, e => e.EventId == 3004 && e.Error is NotSupportedException);
    }

    [RedisFact]
    public async Task Throw_ResultJsonCannotWrite_ThrowsCachifyExceptionAfterRunningOnce()
    {
        var backend = NewBackend(new RedisCacheOptions { OnError = RedisErrorMode.Throw });
        var calls = 0;
        var cyclic = Cachify.Wrap((int x) => { calls++; return Node.Cycle(x); }).Named("unserializable.throw").NoSelf().Backend(backend);
        var withDelegate = Cachify.Wrap((int x) => { calls++; return Task.FromResult(new Holder(x, () => x)); }).Named("unserializable.throw.delegate").NoSelf().Backend(backend);

        var error = Assert.Throws<CachifyException>(() => cyclic.Invoke(1));
        Assert.IsType<System.Text.Json.JsonException>(error.InnerException);
        Assert.Contains("could not be serialized", error.Message, StringComparison.Ordinal);
        Assert.IsType<NotSupportedException>((await Assert.ThrowsAsync<CachifyException>(() => withDelegate.Invoke(2))).InnerException);

        Assert.Equal(2, calls);
        Assert.Empty(EntryKeys()); // the lock was released
        Assert.Throws<CachifyException>(() => cyclic.Invoke(1));
        Assert.Equal(3, calls); // nothing cached: each call runs and fails again
    }

    [RedisFact]
    public async Task Payload_ForeignRedisTypeUnderTheKey_IsAMissThatIsOverwritten_InBothModes()
    {
        foreach (var mode in new[] { RedisErrorMode.Silent, RedisErrorMode.Throw })
        {
            var backend = NewBackend(new RedisCacheOptions { OnError = mode, LocalCache = new() { Enabled = false } }, prefix: Prefix + mode);
            var calls = 0;
            var f = Cachify.Wrap((int x) => ++calls).Named("foreign").NoSelf().Backend(backend);
            var g = Cachify.Wrap((int x) => Task.FromResult(++calls)).Named("foreign").NoSelf().Backend(backend);
            f.Invoke(1);
            f.Invoke(2);
            var key1 = ValueKey(f, 1);
            var key2 = ValueKey(f, 2);

            // Another application wrote a list and a hash where Cachify keeps its values (GET fails with WRONGTYPE).
            // One key per command: the two keys may live in different hash slots (CROSSSLOT on a cluster).
            Db.KeyDelete(key1);
            Db.KeyDelete(key2);
            Db.ListRightPush(key1, "not ours");
            Db.HashSet(key2, "field", "not ours");

            Assert.Equal(3, f.Invoke(1));        // a miss: the function runs and its value replaces the list
            Assert.Equal(3, f.Invoke(1));
            Assert.Equal(4, await g.Invoke(2));  // the same through the asynchronous path
            Assert.Equal(4, await g.Invoke(2));
            Assert.Equal(RedisType.String, Db.KeyType(key1));
            Assert.Equal(RedisType.String, Db.KeyType(key2));
        }
    }

    [RedisFact]
    public async Task Invoke_EqualsSaysEqualForDifferentValues_StoredApartButConcurrentCallsShareOneExecution()
    {
        // On Redis the key is the argument's JSON, so sequential calls get their own values (unlike memory)...
        var f = Cachify.Wrap((AlwaysEqual x) => x.Id).Named("liar").NoSelf().Backend(Backend);
        Assert.Equal(1, f.Invoke(new AlwaysEqual(1)));
        Assert.Equal(2, f.Invoke(new AlwaysEqual(2)));

        // ...but callers of one process join a running execution by Equals: the second caller gets the first's value.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var g = Cachify.Wrap(async (AlwaysEqual x) => { entered.TrySetResult(); await release.Task; return x.Id; }).Named("liar.async").NoSelf().Backend(Backend);
        using var joined = new JoinListener("liar.async");
        var first = g.Invoke(new AlwaysEqual(10));
        await entered.Task.Within("the function runs");
        var second = g.Invoke(new AlwaysEqual(20));
        await joined.First.Within("the second caller joined the running execution");
        release.SetResult();
        Assert.Equal(10, await first.Within("the first call returned"));
        Assert.Equal(10, await second.Within("the second call returned"));     // the other key's value, as its Equals claims
        Assert.Equal(20, await g.Invoke(new AlwaysEqual(20))); // stored apart: the next call runs for 20
    }

    [RedisFact]
    public void Invoke_ArgumentWhoseGetHashCodeThrows_ExceptionPropagatesAndNothingIsStored()
    {
        var calls = 0;
        var f = Cachify.Wrap((BadHash x) => ++calls).Named("badhash").NoSelf().Backend(Backend);

        Assert.Equal("hash", Assert.Throws<InvalidOperationException>(() => f.Invoke(new BadHash { Id = 1 })).Message);
        Assert.Equal(0, calls);
        Assert.Empty(Keys());
    }

    /// <summary>The value and lock keys of this test's prefix: every key but the functions' generations (written before a first run).</summary>
    private List<string> EntryKeys() => [.. Keys().Where(k => !k.StartsWith("{" + Prefix + ":g:", StringComparison.Ordinal))];

    public sealed class Node
    {
        public int Value { get; init; }

        public Node? Next { get; set; }

        public static Node Cycle(int value)
        {
            var node = new Node { Value = value };
            node.Next = node;
            return node;
        }
    }

    public sealed record Holder(int Value, Func<int> Read);

    public sealed class AlwaysEqual(int id)
    {
        public int Id { get; } = id;

        public override bool Equals(object? obj) => obj is AlwaysEqual;

        public override int GetHashCode() => 0;
    }

    public sealed class BadHash
    {
        public int Id { get; init; }

        public override bool Equals(object? obj) => obj is BadHash other && other.Id == Id;

        public override int GetHashCode() => throw new InvalidOperationException("hash");
    }

    /// <summary>Completes when a caller of <paramref name="function"/> joins another caller's execution (cachify.stampede.joins).</summary>
    private sealed class JoinListener : IDisposable
    {
        private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public JoinListener(string function)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Cachify" && instrument.Name == "cachify.stampede.joins")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "cachify.function" && (tag.Value as string) == function)
                    {
                        _first.TrySetResult();
                    }
                }
            });
            _listener.Start();
        }

        public Task First => _first.Task;

        public void Dispose() => _listener.Dispose();
    }
}

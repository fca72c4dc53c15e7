using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>Redis going away and coming back: each test has its own redis-server, which it kills (SIGKILL) and restarts.</summary>
[Trait("Category", "Reliability")]
public sealed class RedisFaultTests
{
    [RedisFact]
    public async Task Silent_RedisKilled_SyncAndAsyncCallsKeepSucceeding()
    {
        using var server = new RedisServer();
        using var connection = server.Connect();
        var logs = new ListLoggerFactory();
        using var errors = new BackendErrorCounter("fault.silent");
        using var backend = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = "faults", LoggerFactory = logs, LocalCache = new() { Enabled = false } });
        var calls = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref calls)).Named("fault.silent").NoSelf().Backend(backend);
        var g = Cachify.Wrap((int x) => Task.FromResult(Interlocked.Increment(ref calls))).Named("fault.silent").NoSelf().Backend(backend);
        Assert.Equal(1, f.Invoke(1));
        Assert.Equal(1, await g.Invoke(1));

        server.Kill();
        Bounded.Until(() => !connection.IsConnected, "the client saw the connection drop");

        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(calls + 1, f.Invoke(1));
            Assert.Equal(calls + 1, await g.Invoke(1));
            Assert.Equal(calls + 1, f.Invoke(1, skipCache: true));
        }

        // Invalidate and Clear are orders, not optimisations: they fail loudly in Silent mode too.
        Assert.IsType<RedisConnectionException>(Assert.Throws<CachifyException>(() => f.Invalidate(1)).InnerException);
        await Assert.ThrowsAsync<CachifyException>(() => g.InvalidateAsync(1).AsTask());
        Assert.Throws<CachifyException>(() => f.Clear());
        await Assert.ThrowsAsync<CachifyException>(() => g.ClearAsync().AsTask());

        // Without waiting for the client's 2 s timeouts: a disconnected Redis fails fast.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"15 calls took {watch.Elapsed}");
        Assert.True(errors.Count("get") >= 10);
        Assert.True(errors.Count("lock") >= 15);
        Assert.Equal(2, errors.Count("invalidate"));
        Assert.Equal(2, errors.Count("clear"));
        Assert.Contains(logs.Entries, e => e.EventId == 3001 && e.Error is RedisConnectionException);
        Assert.Contains(logs.Entries, e => e.EventId == 3003);
    }

    [RedisFact]
    public async Task Outage_LogsOneWarningWithItsExceptionPerInterval_AndOneRecovery()
    {
        using var server = new RestartableRedis();
        using var connection = server.Connect();
        var collector = new FakeLogCollector();
        using var loggerFactory = new LoggerFactory([new FakeLoggerProvider(collector)]);
        var time = new FakeTimeProvider();
        using var errors = new BackendErrorCounter("fault.outage");
        using var backend = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = "outage", LoggerFactory = loggerFactory, TimeProvider = time, LocalCache = new() { Enabled = false } });
        var f = Cachify.Wrap((int x) => x + 1).Named("fault.outage").Backend(backend);
        var g = Cachify.Wrap((int x) => Task.FromResult(x + 1)).Named("fault.outage").Backend(backend);
        Assert.Equal(2, f.Invoke(1));
        Assert.Equal(3, await g.Invoke(2));
        Assert.Empty(Logged());

        server.Kill();
        Bounded.Until(() => !connection.IsConnected, "the client saw the connection drop");

        // Hundreds of failed calls (each a failed GET and a failed lock): one line, with the exception.
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(i + 1, f.Invoke(i));
            Assert.Equal(i + 1, await g.Invoke(i));
        }

        var first = Assert.Single(Logged());
        Assert.Equal(3001, first.Id.Id);
        Assert.Equal(LogLevel.Warning, first.Level);
        Assert.IsType<RedisConnectionException>(first.Exception);
        Assert.True(errors.Total >= 800, $"{errors.Total} backend errors counted");

        // A failed Invalidate is the caller's order not carried out: each one throws and has its own Error line
        // (entries may be served until they expire), outside the rate limit of the cache's own store calls.
        Assert.Throws<CachifyException>(() => f.Invalidate(1));
        Assert.Throws<CachifyException>(() => f.Invalidate(2));
        var removals = Logged().Where(r => r.Id.Id == 3003).ToList();
        Assert.Equal(2, removals.Count);
        Assert.All(removals, r => Assert.Equal(LogLevel.Error, r.Level));
        Assert.All(removals, r => Assert.NotNull(r.Exception));

        // While the store keeps failing, one more detailed warning per 30 s of the backend's clock, with its exception.
        time.Advance(TimeSpan.FromSeconds(29));
        f.Invoke(1);
        Assert.Equal(3, Logged().Count);
        time.Advance(TimeSpan.FromSeconds(1));
        f.Invoke(1);
        Assert.Equal(2, Logged().Count(r => r.Id.Id == 3001));
        for (var i = 0; i < 100; i++)
        {
            await g.Invoke(i);
        }

        Assert.Equal(2, Logged().Count(r => r.Id.Id == 3001));
        time.Advance(TimeSpan.FromSeconds(30));
        await g.Invoke(1);
        Assert.Equal(3, Logged().Count(r => r.Id.Id == 3001));
        Assert.All(Logged().Where(r => r.Id.Id == 3001), r => Assert.IsType<RedisConnectionException>(r.Exception));

        // Redis is back: the next call that reaches it logs one Information line with the count of failed store calls
        // of the outage (every counted error but the two removals, which were thrown), and the calls after it nothing.
        server.Start();
        Bounded.Until(() => connection.IsConnected, "the multiplexer reconnected");
        var outageErrors = errors.Total;
        Assert.Equal(8, f.Invoke(7));
        Assert.Equal(8, f.Invoke(7));
        Assert.Equal(9, await g.Invoke(8));
        var recovered = Assert.Single(Logged(), r => r.Id.Id == 3006);
        Assert.Equal(LogLevel.Information, recovered.Level);
        Assert.Equal((outageErrors - 2).ToString(System.Globalization.CultureInfo.InvariantCulture), recovered.GetStructuredStateValue("Failures"));
        Assert.Equal(6, Logged().Count);

        // The store's lines (StoreLog, 3001-3009); the backplane logs its own loss of the connection besides.
        List<FakeLogRecord> Logged() => [.. collector.GetSnapshot().Where(r => r.Level >= LogLevel.Information && r.Id.Id is >= 3001 and <= 3009)];
    }

    /// <summary>
    /// Far below the client's 2 s timeouts (<see cref="RedisServer.Connect"/>), far above the few milliseconds the call takes:
    /// a Redis call left waiting in the multiplexer's backlog would hold the caller for a whole timeout.
    /// </summary>
    private static readonly TimeSpan FailFast = TimeSpan.FromSeconds(1);

    [RedisFact]
    public void Silent_RedisKilledWhileSyncFunctionRunsThenItThrows_TheExceptionReachesTheCallerAtOnce()
    {
        using var server = new RedisServer();
        using var connection = server.Connect();
        using var backend = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = "faults" });
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var f = Cachify.Wrap((int x) =>
        {
            entered.Set();
            Assert.True(release.Wait(Bounded.Deadline), "the test released the function");
            return x > 0 ? throw new InvalidOperationException("boom") : x;
        }).Named("fault.throws").NoSelf().Backend(backend);

        var call = Task.Run(() => Assert.Throws<InvalidOperationException>(() => f.Invoke(4)));
        Bounded.Wait(entered, "the function started");
        server.Kill();
        Bounded.Until(() => !connection.IsConnected, "the client saw the connection drop");

        // The owner releases its lock after the function throws: with Redis gone, that must not delay the exception.
        var watch = Stopwatch.StartNew();
        release.Set();
        Assert.Equal("boom", Bounded.Result(call, "the caller got the exception").Message);
        Assert.True(watch.Elapsed < FailFast, $"the function's exception reached the caller {watch.Elapsed} after the function threw");
    }

    [RedisFact]
    public async Task Silent_RedisKilledWhileAsyncFunctionRunsThenItThrows_TheExceptionReachesTheCallerAtOnce()
    {
        using var server = new RedisServer();
        using var connection = server.Connect();
        using var backend = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = "faults" });
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap(async (int x) =>
        {
            entered.SetResult();
            await release.Task;
            return x > 0 ? throw new InvalidOperationException("boom") : x;
        }).Named("fault.throws.async").NoSelf().Backend(backend);

        var call = f.Invoke(4);
        await entered.Task.Within("the function started");
        server.Kill();
        Bounded.Until(() => !connection.IsConnected, "the client saw the connection drop");

        var watch = Stopwatch.StartNew();
        release.SetResult();
        Assert.Equal("boom", (await Assert.ThrowsAsync<InvalidOperationException>(() => call.Within("the caller got the exception"))).Message);
        Assert.True(watch.Elapsed < FailFast, $"the function's exception reached the caller {watch.Elapsed} after the function threw");
    }
}

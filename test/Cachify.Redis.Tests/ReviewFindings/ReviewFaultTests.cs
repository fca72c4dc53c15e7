using System.Diagnostics;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests.Review;

[Trait("Category", "Reliability")]
public sealed class ReviewFaultTests
{
    [RedisFact]
    public void Silent_RedisKilledWhileSyncFunctionRunsThenItThrows_ExceptionIsNotDelayed()
    {
        using var server = new RedisServer();
        using var connection = server.Connect();
        using var backend = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = "faults" });
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var f = Cachify.Wrap((int x) => { entered.Set(); release.Wait(); return x > 0 ? throw new InvalidOperationException("boom") : x; }).Named("fault.throws").Backend(backend);

        var call = Task.Run(() => { var w = Stopwatch.StartNew(); try { f.Invoke(4); } catch (InvalidOperationException) { } return w; });
        entered.Wait();
        server.Kill();
        Wait.Until(() => !connection.IsConnected, "the client saw the connection drop");
        var afterKill = Stopwatch.StartNew();
        release.Set();
        call.Wait();
        Assert.True(afterKill.Elapsed < TimeSpan.FromMilliseconds(500), $"the function's exception reached the caller {afterKill.Elapsed} after the function threw");
    }

    [RedisFact]
    public async Task Silent_RedisKilledWhileAsyncFunctionRunsThenItThrows_ExceptionIsNotDelayed()
    {
        using var server = new RedisServer();
        using var connection = server.Connect();
        using var backend = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = "faults" });
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap(async (int x) => { entered.SetResult(); await release.Task; return x > 0 ? throw new InvalidOperationException("boom") : x; }).Named("fault.throws.async").Backend(backend);

        var call = f.Invoke(4);
        await entered.Task;
        server.Kill();
        Wait.Until(() => !connection.IsConnected, "the client saw the connection drop");
        var afterKill = Stopwatch.StartNew();
        release.SetResult();
        await Assert.ThrowsAsync<InvalidOperationException>(() => call);
        Assert.True(afterKill.Elapsed < TimeSpan.FromMilliseconds(500), $"the function's exception reached the caller {afterKill.Elapsed} after the function threw");
    }
}

using CachifyNet.Redis.Internal;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// The synchronous form of the Redis I/O adapter (no Redis needed): an algorithm run with it must complete on the
/// caller's thread, so its result refuses a task that is not complete (a synchronous caller never blocks on one), and
/// its failure reaches the caller as the exception the algorithm threw, not wrapped.
/// </summary>
public class RedisIoTests
{
    [Fact]
    public void Result_OfATaskNotComplete_ThrowsInsteadOfBlocking()
    {
        var pending = new TaskCompletionSource<int>();

        Assert.Throws<InvalidOperationException>(() => SyncRedisIo.Result(new ValueTask<int>(pending.Task)));
        Assert.Throws<InvalidOperationException>(() => SyncRedisIo.Result(new ValueTask(pending.Task)));
    }

    [Fact]
    public void Result_OfAFailedAlgorithm_ThrowsItsOwnException()
    {
        var thrown = new TimeoutException("the function's own");

        Assert.Same(thrown, Assert.Throws<TimeoutException>(() => SyncRedisIo.Result(Fails<int>(thrown))));
        Assert.Same(thrown, Assert.Throws<TimeoutException>(() => SyncRedisIo.Result(FailsVoid(thrown))));
        Assert.Equal(42, SyncRedisIo.Result(new ValueTask<int>(42)));
    }

    private static async ValueTask<T> Fails<T>(Exception error)
    {
        await ValueTask.CompletedTask;
        throw error;
    }

    private static async ValueTask FailsVoid(Exception error)
    {
        await ValueTask.CompletedTask;
        throw error;
    }
}

using CachifyNet.Stores;

namespace CachifyNet.Distributed.Tests;

/// <summary>
/// A store whose value reads can be held: after <see cref="Hold"/>, the next read of a value key reads the store, then
/// signals <see cref="ReadTaken"/> and returns what it read only once <see cref="Release"/> is called (a slow read,
/// overtaken by a change). Counts value reads.
/// </summary>
internal sealed class GatedStore(CacheStore inner) : CacheStore
{
    private TaskCompletionSource? _held;
    private TaskCompletionSource? _release;
    private TaskCompletionSource _taken = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Reads of value keys that reached the store.</summary>
    public int ValueReads;

    /// <summary>Completes when a held read has read the store.</summary>
    public Task ReadTaken => _taken.Task;

    public void Hold()
    {
        _taken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _held = _release;
    }

    public void Release() => _release?.TrySetResult();

    public override byte[]? Read(string key)
    {
        var value = inner.Read(key);
        if (IsValue(key))
        {
            Interlocked.Increment(ref ValueReads);
            if (Interlocked.Exchange(ref _held, null) is { } held)
            {
                _taken.TrySetResult();
                Assert.True(held.Task.Wait(Bounded.Deadline), "the held read was released");
            }
        }

        return value;
    }

    public override async ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken)
    {
        var value = await inner.ReadAsync(key, cancellationToken);
        if (IsValue(key))
        {
            Interlocked.Increment(ref ValueReads);
            if (Interlocked.Exchange(ref _held, null) is { } held)
            {
                _taken.TrySetResult();
                await held.Task.Within("the held read was released");
            }
        }

        return value;
    }

    public override void Write(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive) => inner.Write(key, value, timeToLive);

    public override ValueTask WriteAsync(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken cancellationToken)
        => inner.WriteAsync(key, value, timeToLive, cancellationToken);

    public override void Remove(string key) => inner.Remove(key);

    public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken) => inner.RemoveAsync(key, cancellationToken);

    private static bool IsValue(string key) => key.Contains(":v:", StringComparison.Ordinal);
}

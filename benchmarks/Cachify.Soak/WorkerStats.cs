namespace CachifyNet.Soak;

/// <summary>What one worker saw. Only its own thread writes it (the progress line reads the counters racily).</summary>
public sealed class WorkerStats
{
    public long Calls;
    public long Wrong;
    public long FailedCount;

    /// <summary>Invalidations refused (thrown) during a Redis outage: by design in every error mode, so not failures.</summary>
    public long RemovalsRefused;

    public LatencyHistogram Memory { get; } = new();

    public LatencyHistogram NeverDie { get; } = new();

    public LatencyHistogram Redis { get; } = new();

    public Dictionary<string, long> Failures { get; } = new(StringComparer.Ordinal);

    public List<string> WrongSamples { get; } = [];

    public void Check(int key, Value value, long version)
    {
        Calls++;
        if (value.Key != key || value.Check != Value.Checksum(key) || value.Version != version)
        {
            AddWrong($"key {key}: got {value}");
        }
    }

    /// <summary>A never-die value is right for its key, and never older than one this worker already saw.</summary>
    public void CheckNeverDie(int key, Value value, long[] seen)
    {
        Calls++;
        if (value.Key != key || value.Check != Value.Checksum(key) || value.Version < seen[key] || value.Version < 1)
        {
            AddWrong($"never-die key {key}: got {value} after version {seen[key]}");
        }

        seen[key] = Math.Max(seen[key], value.Version);
    }

    public void Failed(string target, Exception error)
    {
        Calls++;
        FailedCount++;
        var kind = $"{target}: {error.GetType().Name}" + (error.InnerException is { } inner ? $" ({inner.GetType().Name})" : string.Empty);
        Failures[kind] = Failures.GetValueOrDefault(kind) + 1;
    }

    public void Add(WorkerStats other)
    {
        Calls += other.Calls;
        Wrong += other.Wrong;
        FailedCount += other.FailedCount;
        RemovalsRefused += other.RemovalsRefused;
        Memory.Add(other.Memory);
        NeverDie.Add(other.NeverDie);
        Redis.Add(other.Redis);
        foreach (var (kind, count) in other.Failures)
        {
            Failures[kind] = Failures.GetValueOrDefault(kind) + count;
        }

        WrongSamples.AddRange(other.WrongSamples.Take(10));
    }

    private void AddWrong(string what)
    {
        Wrong++;
        if (WrongSamples.Count < 10)
        {
            WrongSamples.Add(what);
        }
    }
}

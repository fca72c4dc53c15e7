using System.Diagnostics;

namespace CachifyNet.Soak;

/// <summary>
/// Call latencies in logarithmic buckets (about 2% wide), one histogram per worker (no sharing on the hot path),
/// merged at the end for percentiles; the exact maximum is kept too.
/// </summary>
public sealed class LatencyHistogram
{
    private const double Resolution = 50; // buckets per factor e
    private const int Buckets = 1200;     // up to e^24 ns, about 26 s; longer calls land in the last bucket

    private readonly long[] _counts = new long[Buckets];

    public long Count { get; private set; }

    public long MaxTicks { get; private set; }

    public void Record(long stopwatchTicks)
    {
        var nanoseconds = stopwatchTicks * (1_000_000_000.0 / Stopwatch.Frequency);
        var bucket = nanoseconds < 1 ? 0 : Math.Min(Buckets - 1, (int)(Math.Log(nanoseconds) * Resolution));
        _counts[bucket]++;
        Count++;
        if (stopwatchTicks > MaxTicks)
        {
            MaxTicks = stopwatchTicks;
        }
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < Buckets; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
        MaxTicks = Math.Max(MaxTicks, other.MaxTicks);
    }

    /// <summary>The latency in nanoseconds under which <paramref name="fraction"/> of the calls completed (upper edge of its bucket).</summary>
    public double Percentile(double fraction)
    {
        if (Count == 0)
        {
            return 0;
        }

        var target = (long)Math.Ceiling(Count * fraction);
        long seen = 0;
        for (var i = 0; i < Buckets; i++)
        {
            seen += _counts[i];
            if (seen >= target)
            {
                return Math.Exp((i + 1) / Resolution);
            }
        }

        return MaxNanoseconds;
    }

    public double MaxNanoseconds => MaxTicks * (1_000_000_000.0 / Stopwatch.Frequency);
}

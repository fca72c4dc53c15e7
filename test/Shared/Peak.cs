namespace CachifyNet.Testing;

/// <summary>The highest value seen by many threads at once (such as the most executions running together). Linked into the test projects that count them.</summary>
internal static class Peak
{
    /// <summary>Raises <paramref name="peak"/> to <paramref name="value"/> if it is lower, atomically.</summary>
    public static void Record(ref int peak, int value)
    {
        var current = Volatile.Read(ref peak);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref peak, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Raises <paramref name="peak"/> to <paramref name="value"/> if it is lower, atomically.</summary>
    public static void Record(ref long peak, long value)
    {
        var current = Interlocked.Read(ref peak);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref peak, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}

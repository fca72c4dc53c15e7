using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Caching.Memory;

namespace CachifyNet.Benchmarks.Infrastructure;

/// <summary>The stores compared by the many-keys scenario.</summary>
public enum ManyKeysPeer
{
    /// <summary><c>ConcurrentDictionary&lt;int, int&gt;</c>: the floor.</summary>
    Dictionary,

    /// <summary>A Cachify wrapper of <c>(int key) =&gt; key</c> on its own memory backend.</summary>
    Cachify,

    /// <summary><c>IMemoryCache.Set(key, value, ttl)</c> with the int key boxed, as IMemoryCache takes it.</summary>
    MemoryCache,

    /// <summary>FusionCache <c>Set</c> with the key as a string, as FusionCache takes it.</summary>
    FusionCache,
}

/// <summary>
/// Fills a store with distinct int keys (value = key) and measures the managed memory it keeps per entry with
/// <see cref="GC.GetTotalMemory(bool)"/> before and after. Used by <c>--retained</c> and by ManyKeysBenchmarks.
/// </summary>
public static class RetainedMemory
{
    public const int DefaultKeys = 1_000_000;

    /// <summary>Inserts <paramref name="keys"/> keys into a new store of <paramref name="peer"/>; dispose the result to drop it.</summary>
    public static IDisposable Fill(ManyKeysPeer peer, int keys)
    {
        switch (peer)
        {
            case ManyKeysPeer.Dictionary:
            {
                var dictionary = new ConcurrentDictionary<int, int>();
                for (var i = 0; i < keys; i++)
                {
                    dictionary[i] = i;
                }

                return new Holder(dictionary, null);
            }

            case ManyKeysPeer.Cachify:
            {
                var backend = Backends.Memory();
                var identity = CachifyNet.Cachify.Wrap((int key) => key).Ttl(Peers.Lifetime).Backend(backend);
                for (var i = 0; i < keys; i++)
                {
                    identity.Invoke(i);
                }

                return new Holder(identity, backend);
            }

            case ManyKeysPeer.MemoryCache:
            {
                var cache = Peers.NewMemoryCache();
                for (var i = 0; i < keys; i++)
                {
                    cache.Set(i, i, Peers.Lifetime);
                }

                return new Holder(cache, cache);
            }

            case ManyKeysPeer.FusionCache:
            {
                var cache = Peers.NewFusionCache();
                for (var i = 0; i < keys; i++)
                {
                    cache.Set(i.ToString(CultureInfo.InvariantCulture), i);
                }

                return new Holder(cache, cache);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(peer), peer, null);
        }
    }

    /// <summary>Bytes of managed memory kept per entry by a store of <paramref name="peer"/> holding <paramref name="keys"/> keys.</summary>
    public static double BytesPerEntry(ManyKeysPeer peer, int keys)
    {
        // A small fill first, so one-time costs (JIT, statics, the scheduler's thread) are not counted.
        Fill(peer, 1000).Dispose();
        var before = FullyCollectedHeap();
        var store = Fill(peer, keys);
        var after = FullyCollectedHeap();
        GC.KeepAlive(store);
        store.Dispose();
        return (after - before) / (double)keys;
    }

    /// <summary>The <c>--retained</c> mode: prints a markdown table and writes it under BenchmarkDotNet.Artifacts/results.</summary>
    public static int Run(string[] args)
    {
        var keys = DefaultKeys;
        var index = Array.IndexOf(args, "--keys");
        if (index >= 0 && (index + 1 >= args.Length || !int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out keys) || keys <= 0))
        {
            Console.Error.WriteLine("--keys needs a positive number, e.g. --keys 1000000");
            return 2;
        }

        Console.WriteLine($"Managed memory retained per entry, {keys:N0} distinct int keys (value = key), GC.GetTotalMemory(true) before and after.");
        Console.WriteLine();
        var table = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"| Store ({keys:N0} int keys) | Retained / entry | Ratio to floor | Ratio to IMemoryCache | Retained total |")
            .AppendLine("|---|---:|---:|---:|---:|");
        var perEntry = Enum.GetValues<ManyKeysPeer>().ToDictionary(peer => peer, peer => BytesPerEntry(peer, keys));
        var floor = perEntry[ManyKeysPeer.Dictionary];
        var memoryCache = perEntry[ManyKeysPeer.MemoryCache];
        foreach (var (peer, bytes) in perEntry)
        {
            table.AppendLine(CultureInfo.InvariantCulture, $"| {Describe(peer)} | {bytes:N0} B | {bytes / floor:N2} | {bytes / memoryCache:N2} | {bytes * keys / (1024 * 1024):N1} MB |");
        }

        var text = table.ToString();
        Console.Write(text);
        var results = Path.Combine("BenchmarkDotNet.Artifacts", "results");
        Directory.CreateDirectory(results);
        var file = Path.Combine(results, "ManyKeys-retained.md");
        File.WriteAllText(file, text);
        Console.WriteLine();
        Console.WriteLine($"Written to {Path.GetFullPath(file)}");
        return 0;
    }

    public static string Describe(ManyKeysPeer peer) => peer switch
    {
        ManyKeysPeer.Dictionary => "ConcurrentDictionary<int, int> (floor)",
        ManyKeysPeer.Cachify => "Cachify (memory backend)",
        ManyKeysPeer.MemoryCache => "IMemoryCache.Set (boxed int key)",
        ManyKeysPeer.FusionCache => "FusionCache.Set (string key)",
        _ => peer.ToString(),
    };

    private static long FullyCollectedHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private sealed class Holder(object store, IDisposable? disposable) : IDisposable
    {
        public object Store { get; } = store;

        public void Dispose() => disposable?.Dispose();
    }
}

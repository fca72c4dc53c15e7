namespace CachifyNet.Docs.Tests;

/// <summary>The store docs/stores.md shows is the one test/Cachify.Distributed.Tests runs its whole suite on.</summary>
public sealed class StoresDocTests
{
    [Fact]
    public void WriteYourOwnStore_ShowsTheTestedDictionaryStore()
    {
        var tested = File.ReadAllText(Path.Combine(MarkdownDocs.Root, "test", "Cachify.Distributed.Tests", "Infrastructure", "DictionaryStore.cs")).ReplaceLineEndings("\n");
        var page = File.ReadAllText(Path.Combine(MarkdownDocs.Root, "docs", "stores.md")).ReplaceLineEndings("\n");
        var start = tested.IndexOf("/// <summary>A store over a dictionary", StringComparison.Ordinal);

        Assert.True(start > 0, "DictionaryStore.cs no longer has the class the page shows.");
        Assert.Contains(tested[start..].TrimEnd(), page, StringComparison.Ordinal);
    }
}

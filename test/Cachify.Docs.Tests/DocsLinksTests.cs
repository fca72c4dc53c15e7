namespace CachifyNet.Docs.Tests;

/// <summary>
/// Links in README.md, CONTRIBUTING.md and docs/ lead to files and headings that exist; the package readmes link only
/// with absolute addresses (a package page resolves no relative link or image), and their links into the repository
/// lead to existing files and headings too.
/// </summary>
public sealed class DocsLinksTests
{
    public static TheoryData<string> Files() => [.. MarkdownDocs.Files];

    public static TheoryData<string> PackageReadmes() => [.. MarkdownDocs.PackageReadmes];

    [Theory]
    [MemberData(nameof(Files))]
    public void RelativeLinks_LeadToExistingFilesAndHeadings(string file)
    {
        var broken = MarkdownDocs.Links(file)
            .Where(l => !IsExternal(l.Target))
            .Select(l => (l.Line, Problem: Check(file, l.Target)))
            .Where(l => l.Problem is not null)
            .Select(l => $"{file}:{l.Line}: {l.Problem}")
            .ToList();

        Assert.True(broken.Count == 0, string.Join("\n", broken));
    }

    [Theory]
    [MemberData(nameof(PackageReadmes))]
    public void PackageReadme_LinksAreAbsoluteAndLeadToExistingFiles(string file)
    {
        const string token = "{DocsUrl}/";
        var problems = new List<string>();
        var links = MarkdownDocs.Links(file).ToList();
        foreach (var (line, target) in links)
        {
            if (target.StartsWith(token, StringComparison.Ordinal))
            {
                if (Check("", target[token.Length..]) is { } problem)
                {
                    problems.Add($"{file}:{line}: {problem}");
                }
            }
            else if (!target.StartsWith("https://", StringComparison.Ordinal))
            {
                problems.Add($"{file}:{line}: '{target}' is relative: a package page cannot follow it; write {token}path/in/the/repository");
            }
        }

        Assert.True(links.Count > 0, $"{file} has no links to the documentation");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.StartsWith("https://", MarkdownDocs.DocsUrl, StringComparison.Ordinal);
    }

    [Fact]
    public void Readme_StaysShort()
    {
        // Issue 15: README.md is the pitch and the first five minutes; everything else goes to docs/.
        var bytes = new FileInfo(Path.Combine(MarkdownDocs.Root, "README.md")).Length;
        Assert.True(bytes <= 15 * 1024, $"README.md has {bytes} bytes, over 15 KB: move details to a page of docs/ and link it");
    }

    [Fact]
    public void Check_MissingFileOrHeading_IsReported()
    {
        Assert.Null(Check("README.md", "docs/redis.md#keys"));
        Assert.NotNull(Check("README.md", "docs/no-such-page.md"));
        Assert.NotNull(Check("README.md", "docs/redis.md#no-such-heading"));
        Assert.NotNull(Check("docs/redis.md", "#no-such-heading"));
    }

    [Fact]
    public void Slug_FollowsGitHub()
    {
        Assert.Equal("what-crosses-process-boundaries-and-what-does-not", MarkdownDocs.Slug("What crosses process boundaries, and what does not"));
        Assert.Equal("redis-addcachifyredis", MarkdownDocs.Slug("Redis: `AddCachifyRedis`"));
        Assert.Equal("locking-one-execution-per-key", MarkdownDocs.Slug("Locking: one execution per key"));
    }

    private static bool IsExternal(string target) =>
        target.StartsWith("http://", StringComparison.Ordinal) || target.StartsWith("https://", StringComparison.Ordinal) ||
        target.StartsWith("mailto:", StringComparison.Ordinal);

    /// <summary>Null when <paramref name="target"/>, relative to <paramref name="file"/>, exists; else what is wrong.</summary>
    private static string? Check(string file, string target)
    {
        var hash = target.IndexOf('#', StringComparison.Ordinal);
        var path = hash < 0 ? target : target[..hash];
        var anchor = hash < 0 ? null : target[(hash + 1)..];
        var relative = path.Length == 0
            ? file
            : Path.GetRelativePath(MarkdownDocs.Root, Path.GetFullPath(Path.Combine(MarkdownDocs.Root, Path.GetDirectoryName(file) ?? "", path)))
                .Replace('\\', '/');
        var full = Path.Combine(MarkdownDocs.Root, relative);
        if (!File.Exists(full) && !Directory.Exists(full))
        {
            return $"'{target}': no file {relative}";
        }
        if (anchor is not null && relative.EndsWith(".md", StringComparison.Ordinal) && !MarkdownDocs.Anchors(relative).Contains(anchor))
        {
            return $"'{target}': {relative} has no heading #{anchor}";
        }
        return null;
    }
}

using System.Text;
using Jobs.Api;
using Xunit;

namespace Jobs.Tests.Hosting;

/// <summary>The bearer token comparison: the scheme in any case (RFC 7235), the token exactly.</summary>
public sealed class TokenCheckSpec
{
    private static readonly byte[] Expected = Encoding.UTF8.GetBytes("s3cret");

    [Theory]
    [InlineData("Bearer s3cret")]
    [InlineData("bearer s3cret")]
    [InlineData("BEARER s3cret")]
    public void The_bearer_scheme_is_matched_in_any_case(string header) => Assert.True(TokenCheck.Matches(header, Expected));

    [Theory]
    [InlineData("Bearer S3CRET")]
    [InlineData("Bearer s3cret ")]
    [InlineData("Basic s3cret")]
    [InlineData("s3cret")]
    [InlineData("")]
    public void Anything_but_the_exact_token_is_refused(string header) => Assert.False(TokenCheck.Matches(header, Expected));
}

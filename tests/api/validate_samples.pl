#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# Check real response bodies against their schemas in api/openapi.yaml.
# Runs api_samples (which writes SCHEMA[.variant].json files), then
# validates each file against /components/schemas/SCHEMA.
# Usage: validate_samples.pl API_SAMPLES MODEL.json OPENAPI.yaml
use strict;
use warnings;
use File::Temp qw(tempdir);
use JSON::Validator::Schema::OpenAPIv3;
use Mojo::File qw(path);
use Mojo::JSON qw(decode_json);

my ($tool, $model, $yaml) = @ARGV;
die "usage: $0 API_SAMPLES MODEL.json OPENAPI.yaml\n" unless $yaml;
my $dir = tempdir(CLEANUP => 1);
system($tool, $model, $dir) == 0 or die "$tool failed\n";

my $schema = JSON::Validator::Schema::OpenAPIv3->new($yaml)->resolve;
my ($files, $failed) = (0, 0);
for my $file (sort glob("$dir/*.json")) {
    my ($name) = $file =~ m{/([A-Za-z]+)[^/]*\.json$};
    my $want = $schema->get("/components/schemas/$name")
        or die "no schema $name\n";
    my @errors = $schema->validate(decode_json(path($file)->slurp), $want);
    print "$name ($file): $_\n" for @errors;
    $failed++ if @errors;
    $files++;
}
print "$files bodies checked, $failed not matching their schema\n";
exit($failed || $files < 7 ? 1 : 0);

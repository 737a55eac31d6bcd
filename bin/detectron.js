#!/usr/bin/env node
'use strict';
require('../dist/tools/detectron.js').main(process.argv);
